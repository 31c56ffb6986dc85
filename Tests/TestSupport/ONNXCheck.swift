import Foundation

/// Running Scripts/check_onnx.py (onnx's checker, then onnxruntime against a recording) from the tests.
public enum ONNXCheck {
    /// A Python with onnx and onnxruntime: `ONNX_CHECK_PYTHON`, or the venv Scripts/test.sh makes; nil when neither
    /// imports both.
    public static let python: String? = {
        let candidates: [String?] = [
            ProcessInfo.processInfo.environment["ONNX_CHECK_PYTHON"],
            repositoryRoot.appendingPathComponent(".build/venv-check/bin/python").path,
        ]
        return candidates.compactMap { $0 }.first { (python: String) -> Bool in
            guard FileManager.default.isExecutableFile(atPath: python) else { return false }
            let probe = try? runProcess(
                URL(fileURLWithPath: python), ["-c", "import onnx, onnxruntime"], in: repositoryRoot)
            return probe?.status == 0
        }
    }()

    /// Why the onnxruntime tests are skipped locally.
    public static let skipReason =
        "needs a Python with onnx and onnxruntime (Scripts/test.sh makes one; or set ONNX_CHECK_PYTHON)"

    /// True where a missing Python must fail rather than skip: under CI (`CI=true`, as .ci/run is started), or when
    /// `ONNX_CHECK_REQUIRED=1`.
    public static let isRequired: Bool = {
        let environment = ProcessInfo.processInfo.environment
        return environment["CI"] == "true" || environment["ONNX_CHECK_REQUIRED"] == "1"
    }()

    /// `Scripts/check_onnx.py model --expect recording --atol A --rtol R` with `python`.
    public static func run(
        _ python: String, model: String, expect recording: String, atol: Double, rtol: Double,
        extra: [String] = []
    ) throws -> CommandResult {
        try runProcess(
            URL(fileURLWithPath: python),
            ["Scripts/check_onnx.py", model, "--expect", recording, "--atol", "\(atol)", "--rtol", "\(rtol)"] + extra,
            in: repositoryRoot)
    }

    /// The max abs and rel errors check_onnx.py printed (`max abs error 4.77e-07, max rel error 1.43e-06`).
    public static func errors(in stdout: String) -> (abs: Double, rel: Double)? {
        guard let range = stdout.range(of: "max abs error ") else { return nil }
        let rest = stdout[range.upperBound...]
        let parts = rest.split(separator: ",", maxSplits: 2)
        guard parts.count >= 2, let abs = Double(parts[0].trimmingCharacters(in: .whitespaces)),
            let relRange = parts[1].range(of: "max rel error ")
        else { return nil }
        let relText = parts[1][relRange.upperBound...].prefix { !$0.isWhitespace }
        guard let rel = Double(relText) else { return nil }
        return (abs, rel)
    }
}
