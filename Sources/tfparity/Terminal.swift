import Foundation
import Synchronization
import Importers
import Reports
import TFParityKit
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Facts about where output goes, and the drawing of a progress bar on stderr.
enum Terminal {
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Colour for stdout: only on a terminal, never with `NO_COLOR`.
    static var style: TextStyle {
        TextStyle.forTerminal(stdoutIsTerminal, environment: ProcessInfo.processInfo.environment)
    }

    /// Set once, at first use, and only read after: the sources live as long as the process.
    /// On SIGINT or SIGTERM, removes the temporary output files in flight and exits 128 + signal, as a shell
    /// would report it.
    nonisolated(unsafe) static let interruptHandlers: [any DispatchSourceSignal] = [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            TemporaryFiles.removeAll()
            // `_exit`, not `exit`: this runs on a Dispatch thread while the main thread is still working, and `exit`'s
            // atexit handlers and static destructors (libhdf5's, OpenSSL's) racing it could crash the process, which
            // then died of a signal instead of exiting 128 + the signal (as InterruptTests once saw under load).
            _exit(128 + number)
        }
        source.resume()
        return source
    }

    static var isGitHubActions: Bool { ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" }

    /// A progress handler drawing `[=====>    ] 12/50 layer3/bn` on stderr, or nil when stderr is not a terminal or
    /// the user asked for quiet. Short runs draw nothing: the bar appears once a run has taken 300 ms.
    static func progressBar(quiet: Bool) -> ProgressHandler? {
        guard !quiet, stderrIsTerminal else { return nil }
        let started = DispatchTime.now().uptimeNanoseconds
        let drawn = Mutex(false)
        return { event in
            let finished = event.completed >= event.total
            let elapsed = DispatchTime.now().uptimeNanoseconds - started
            let text: String? = drawn.withLock { drawn in
                if finished { return drawn ? "\r\u{1B}[K" : nil }
                guard elapsed > 300_000_000 else { return nil }
                drawn = true
                let width = 30
                let filled = event.total > 0 ? width * event.completed / event.total : width
                let bar =
                    String(repeating: "=", count: filled) + ">"
                    + String(repeating: " ", count: max(0, width - filled - 1))
                return String("\r[\(bar)] \(event.completed)/\(event.total) \(event.label)".prefix(100)) + "\u{1B}[K"
            }
            if let text { FileHandle.standardError.write(Data(text.utf8)) }
        }
    }
}
