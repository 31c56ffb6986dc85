import Foundation
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
            exit(128 + number)
        }
        source.resume()
        return source
    }

    static var isGitHubActions: Bool { ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" }

    /// A progress handler drawing `[=====>    ] 12/50 layer3/bn` on stderr, or nil when stderr is not a terminal or
    /// the user asked for quiet.
    static func progressBar(quiet: Bool) -> ProgressHandler? {
        guard !quiet, stderrIsTerminal else { return nil }
        return { event in
            let width = 30
            let filled = event.total > 0 ? width * event.completed / event.total : width
            let bar =
                String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                + String(repeating: " ", count: max(0, width - filled - 1))
            var line = "\r[\(bar)] \(event.completed)/\(event.total) \(event.label)"
            line = String(line.prefix(100))
            let clear = event.completed >= event.total ? "\r\u{1B}[K" : "\u{1B}[K"
            FileHandle.standardError.write(Data((event.completed >= event.total ? clear : line + clear).utf8))
        }
    }
}
