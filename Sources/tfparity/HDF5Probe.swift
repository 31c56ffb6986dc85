import ArgumentParser
import Foundation
import Importers
import Reports
import TFParityKit
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

/// `tfparity __probe-hdf5 FILE`: the isolated child that reads an untrusted HDF5 file before the parent does.
///
/// Not for users (hidden from help). Runs under an address-space limit it sets on itself; exits 0 when libhdf5 read
/// everything (or refused it cleanly), 3 with `<dataset>\t<reason>` on stderr when libhdf5 failed to read a dataset,
/// and dies by a signal when libhdf5 crashes. On success its standard output holds what it read (`HDF5Catalog`), for
/// the parent to plan from instead of walking the file again.
struct ProbeHDF5: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: HDF5Probe.subcommand, abstract: "Read an HDF5 file in isolation (internal).",
        shouldDisplay: false)

    @Argument var file: String

    func run() throws {
        // Metadata first, under a fixed budget; then room for the largest dataset (read one at a time) several
        // times over: its buffer, libhdf5's chunk and conversion buffers.
        HDF5Probe.limitAddressSpace(extra: HDF5Probe.metadataBudget)
        do {
            let catalog = try HDF5Isolation.exercise(path: file) { largest in
                let room = largest.multipliedReportingOverflow(by: 4)
                HDF5Probe.limitAddressSpace(
                    extra: HDF5Probe.metadataBudget + (room.overflow ? Int(Int32.max) : room.partialValue))
            }
            if let catalog { FileHandle.standardOutput.write(Data(catalog.encoded())) }
        } catch {
            let reason = error.reason.split(whereSeparator: \.isNewline).joined(separator: "; ")
            FileHandle.standardError.write(Data("\(error.dataset)\t\(reason)\n".utf8))
            throw ExitCode(3)
        }
    }
}

/// `tfparity __catalog-hdf5 FILE`: the catalog the pure-Swift reader makes of FILE, encoded as the probe child encodes
/// its own (so the two can be compared byte for byte: `Scripts/fuzz_hdf5_probe.sh`); exit 4 with the reason on stderr
/// when the reader hands the file to libhdf5. Not for users (hidden from help).
struct CatalogHDF5: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__catalog-hdf5", abstract: "Read an HDF5 file's catalog without libhdf5 (internal).",
        shouldDisplay: false)

    @Argument var file: String

    func run() throws {
        switch HDF5MetadataReader.catalog(path: file) {
        case .success(let catalog): FileHandle.standardOutput.write(Data(catalog.encoded()))
        case .failure(let unsupported):
            FileHandle.standardError.write(Data("unsupported: \(unsupported)\n".utf8))
            throw ExitCode(4)
        }
    }
}

/// The parent's side: runs `__probe-hdf5` on a file in a child process and judges how it ended.
enum HDF5Probe {
    static let subcommand = "__probe-hdf5"
    /// Address space the child may grow by before it reads any data.
    static let metadataBudget = 192 << 20

    /// Installs the probe as `HDF5Isolation.probe`, unless `TFPARITY_HDF5_ISOLATION=0`; `TFPARITY_HDF5_NATIVE=0` turns
    /// the pure-Swift reader off (every HDF5 file then goes through the child, as before it).
    static func install() {
        if ProcessInfo.processInfo.environment["TFPARITY_HDF5_NATIVE"] == "0" { HDF5Isolation.readsNatively = false }
        guard ProcessInfo.processInfo.environment["TFPARITY_HDF5_ISOLATION"] != "0" else { return }
        HDF5Isolation.probe = { path in try run(path) }
    }

    /// Seconds the child may take (`TFPARITY_HDF5_PROBE_TIMEOUT` overrides): 8 s plus 1 s per 100 MB, since it reads
    /// the whole file. The child reads a 98 MB ResNet50 in about 0.1 s, so that is a wide margin for a real file, and a
    /// file that makes libhdf5 loop for ever is refused in under 10 s (the hostile-input contract), not 30.
    static func timeout(for path: String) -> Double {
        if let text = ProcessInfo.processInfo.environment["TFPARITY_HDF5_PROBE_TIMEOUT"], let seconds = Double(text) {
            return seconds
        }
        return 8 + Double(size(of: path)) / 100_000_000
    }

    /// Most bytes of catalog read from the child: its paths, types, shapes and string attributes are metadata of the
    /// file (249 KB for a 103 MB ResNet50, a third of a tiny file), so at most the file's size plus 16 MiB, and never
    /// more than 64 MiB, the memory convert is held to. A child that writes more is not believed (nor buffered): the
    /// parent reads the file with libhdf5 itself.
    static func catalogLimit(fileSize size: Int) -> Int {
        min(max(size, 0), 48 << 20) + (16 << 20)
    }

    /// Runs the child on `path`; returns when libhdf5 read the file without incident, with what the child read (nil
    /// when its catalog is missing, too large or malformed: the parent then reads the file with libhdf5 itself).
    /// - Throws: `FileError` naming `path` when the child crashed, hung, or libhdf5 failed to read a dataset.
    static func run(_ path: String) throws -> HDF5Catalog? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = [subcommand, path]
        var environment = ProcessInfo.processInfo.environment
        // One malloc arena: each extra arena reserves 64 MiB of address space against the limit.
        environment["MALLOC_ARENA_MAX"] = "1"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let catalogOutput = Pipe()
        process.standardOutput = catalogOutput
        let errors = Pipe()
        process.standardError = errors
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        do {
            try process.run()
        } catch {
            throw FileError(path: path, reason: "cannot start the isolated HDF5 reader: \(error.localizedDescription)")
        }
        // Both pipes are drained while waiting (a full pipe would block the child), each kept only up to its limit:
        // stderr's first line is all that is reported, and a catalog over its limit is not believed.
        let fileSize = size(of: path)
        let message = PipeDrain(errors, keeping: 64 << 10)
        let catalog = PipeDrain(catalogOutput, keeping: catalogLimit(fileSize: fileSize))
        let seconds = timeout(for: path)
        if finished.wait(timeout: .now() + seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            finished.wait()
            throw FileError(
                path: path, reason: "libhdf5 did not finish reading this file within \(Int(seconds)) s (killed)")
        }
        let firstLine =
            String(decoding: message.bytes(), as: UTF8.self)
            .split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let catalogBytes = catalog.bytes()
        switch (process.terminationReason, process.terminationStatus) {
        case (.exit, 0):
            return catalog.overflowed ? nil : HDF5Catalog.decode(catalogBytes, fileSize: fileSize)
        case (.exit, 3):
            let parts = firstLine.split(separator: "\t", maxSplits: 1).map(String.init)
            let member = parts.count == 2 ? parts[0] : nil
            let reason = parts.last ?? "unknown error"
            let limit = reason.contains("memory allocation failed") ? " within the memory allowed for it" : ""
            throw FileError(path: path, member: member, reason: "libhdf5 could not read it\(limit): \(reason)")
        case (.uncaughtSignal, let signal):
            throw FileError(path: path, reason: "libhdf5 crashed reading this file (signal \(signal))")
        case (_, let status):
            throw FileError(path: path, reason: "libhdf5 failed reading this file (exit status \(status))")
        }
    }

    /// The size of the file at `path` (`stat`), 0 when it cannot be examined. Not `FileManager.attributesOfItem`,
    /// which also looks up the owner's and group's names (nsswitch, `/etc/passwd`, `/etc/group`) on every call.
    private static func size(of path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }

    /// Sets the soft address-space limit to the current size plus `extra` bytes (`setrlimit(RLIMIT_AS)`).
    static func limitAddressSpace(extra: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0 else { return }
        let wanted = UInt64(clamping: currentAddressSpace()) &+ UInt64(clamping: extra)
        limit.rlim_cur = min(rlim_t(clamping: wanted), limit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
    }

    /// This process's virtual size in bytes, from `/proc/self/statm` (first field, in pages).
    private static func currentAddressSpace() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").first.flatMap({ Int($0) })
        else { return 1 << 30 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Reads a pipe to its end on a thread of its own, keeping its first `limit` bytes (and whether there were more).
private final class PipeDrain: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written by the thread before `done` is signalled, read after `bytes()` has waited for it.
    private var kept: [UInt8] = []
    private(set) var overflowed = false

    init(_ pipe: Pipe, keeping limit: Int) {
        let descriptor = pipe.fileHandleForReading.fileDescriptor
        Thread { [self] in
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
            defer { chunk.deallocate() }
            while true {
                let n = read(descriptor, chunk.baseAddress, chunk.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                let room = max(0, limit - kept.count)
                kept += UnsafeRawBufferPointer(rebasing: chunk[0..<min(n, room)])
                if n > room { overflowed = true }
            }
            done.signal()
        }.start()
    }

    /// The bytes kept, once the pipe has ended (the child and everything it started have exited).
    func bytes() -> [UInt8] {
        done.wait()
        done.signal()
        return kept
    }
}
