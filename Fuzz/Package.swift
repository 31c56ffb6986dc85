// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets for tfparity's readers, kept out of the main package so its build never needs the sanitizer.
// Build and run one with `Scripts/fuzz.sh TARGET SECONDS` (it runs
// `swift build -c debug --sanitize=fuzzer --sanitize=address` here).
// The readers are modules of the main package reached through its TFParityKit product.
let package = Package(
    name: "tfparity-fuzz",
    dependencies: [.package(name: "tfparity", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzNPY", dependencies: [.product(name: "TFParityKit", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzNPZ", dependencies: [.product(name: "TFParityKit", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzSafeTensors", dependencies: [.product(name: "TFParityKit", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzCheckpoint", dependencies: [.product(name: "TFParityKit", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzSpec", dependencies: [.product(name: "Importers", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzModelGraph", dependencies: [.product(name: "ParityModel", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzKerasConfig", dependencies: [.product(name: "Importers", package: "tfparity")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
