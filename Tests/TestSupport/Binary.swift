import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The outcome of running the built `tfparity` binary.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// The directory holding the built products (the test bundle sits beside the `tfparity` executable).
public let productsDirectory: URL = {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL,
        Bundle.main.bundleURL.deletingLastPathComponent(),
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("tfparity").path) }
        ?? candidates[0]
}()

/// Runs `tfparity` with `arguments` from the repository root and waits for it.
public func runTFParity(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    try runProcess(
        productsDirectory.appendingPathComponent("tfparity"), arguments, in: repositoryRoot, environment: environment)
}

/// Runs `executable` with `arguments` in `directory`, with no standard input, and waits for it.
public func runProcess(
    _ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:]
) throws -> CommandResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = directory
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    // Files, not pipes: a chatty child can never block on a full pipe, and no reader threads are needed.
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tfparity-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let out = try FileHandle(forWritingTo: outURL)
    let err = try FileHandle(forWritingTo: errURL)
    defer {
        try? out.close()
        try? err.close()
    }
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return CommandResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// How a run of the CLI went, with what it cost.
public struct MeasuredResult: Sendable {
    /// The exit status, or nil when the process died by a signal.
    public var status: Int32?
    /// The signal that killed the process, if one did.
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    public var seconds: Double
    /// Peak resident set size of the process and every descendant it waited for (`wait4`'s `ru_maxrss`).
    public var maxRSSBytes: Int
}

/// Runs the built `tfparity` from the repository root like `runTFParity`, but spawned with `posix_spawn` and reaped
/// with `wait4`, so the peak memory measured is this child's own (and its children's), not that of every process
/// the test runner has started.
///
/// - Parameter timeout: seconds after which the run is killed (SIGKILL to its process group), so a command that
///   blocks (in `open` on a FIFO, say) fails its test instead of hanging the suite.
public func runTFParityMeasured(
    _ arguments: [String], environment: [String: String] = [:], timeout: Double = 120
) throws -> MeasuredResult {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tfparity-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outPath = scratch.appendingPathComponent("stdout").path
    let errPath = scratch.appendingPathComponent("stderr").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    let executable = productsDirectory.appendingPathComponent("tfparity").path
    let rssPath = scratch.appendingPathComponent("maxrss").path
    // A child spawned from this (large) test process inherits its peak RSS through vfork + exec, so wait4 here would
    // report the test's memory, not the CLI's. GNU time forks the CLI from its own small image and reports the CLI's
    // peak alone; without it, fall back to wait4 (an upper bound).
    let gnuTime = "/usr/bin/time"
    let useTime = FileManager.default.isExecutableFile(atPath: gnuTime)
    let shell =
        useTime
        ? [
            "/bin/sh", "-c", "cd \"$0\" && rss=\"$1\" && shift && exec \(gnuTime) -q -f %M -o \"$rss\" \"$@\"",
            repositoryRoot.path, rssPath, executable,
        ]
        : ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", repositoryRoot.path, executable]
    let argv = (shell + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { envp.forEach { free($0) } }

    let start = Date()
    var pid: pid_t = 0
    // Its own process group, so the timeout kills GNU time and the CLI under it together.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)
    let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
    guard spawned == 0 else {
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "posix_spawn failed: \(spawned)"])
    }
    var status: Int32 = 0
    var usage = rusage()
    let child = pid
    let watchdog = DispatchWorkItem { kill(-child, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    watchdog.cancel()
    let seconds = Date().timeIntervalSince(start)
    // WIFEXITED / WTERMSIG are macros Swift does not import.
    let signal = status & 0x7f
    return MeasuredResult(
        status: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal,
        stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "",
        seconds: seconds, maxRSSBytes: (useTime ? measuredRSS(rssPath) : nil) ?? usage.ru_maxrss * 1024)
}

/// The kilobytes GNU time wrote (its last line), in bytes.
private func measuredRSS(_ path: String) -> Int? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
        let last = text.split(whereSeparator: \.isNewline).last, let kilobytes = Int(last)
    else { return nil }
    return kilobytes * 1024
}
