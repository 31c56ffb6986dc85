// swift-tools-version: 6.0
import PackageDescription

// Layers, one direction:
// C shims (CHDF5, CZlib, CLibcrypto) → typed wrappers and format readers/writers (HDF5Kit, NumPyFormat,
// SafeTensors, TFCheckpoint, TFGraph, ONNXFormat; protobuf wire format in ProtobufWire) → model and engine
// (ParityModel: one file per layer operation under Operations/, listed by LayerRegistry) → importers (Importers:
// spec, Keras — one mapping file per Keras class — and tensor sources, behind ModelImporter) and the ONNX lowering
// (ONNXExport: one lowering per operation) → operations (TFParityKit: convert, verify, inspect, fold, export) → reports (Reports: text, JSON, markdown, JUnit, HTML)
// → CLI (tfparity, with Platform: OpenBLAS loading, CVectorMath's AVX2/AVX-512 kernels and matrix product).
// TensorCore, ParityModel, SafeTensors and TFCheckpoint carry no C library, so the runtime can ship without one.
let package = Package(
    name: "tfparity",
    products: [
        .executable(name: "tfparity", targets: ["tfparity"]),
        .library(name: "TFParityKit", targets: ["TFParityKit"]),
        .library(name: "Importers", targets: ["Importers"]),
        .library(name: "ParityModel", targets: ["ParityModel"]),
        // For other packages: load a converted model and run it. Pure Swift all the way down (no libhdf5, no zlib).
        .library(name: "TFParityRuntime", targets: ["TFParityRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // Headers only: libhdf5 is opened when an HDF5 file is (see the shim), not linked, so pkg-config (whose
        // `--libs` would link it) is not asked; the shim finds Debian's serial headers itself.
        .systemLibrary(
            name: "CHDF5",
            path: "Sources/CHDF5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Headers only, like CHDF5: libcrypto is opened when a digest is made (see the shim).
        .systemLibrary(
            name: "CLibcrypto",
            path: "Sources/CLibcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "TensorCore"),
        .target(name: "NumPyFormat", dependencies: ["TensorCore", "CZlib"]),
        .target(name: "HDF5Kit", dependencies: ["TensorCore", "CHDF5"]),
        .target(name: "SafeTensors", dependencies: ["TensorCore"]),
        .target(name: "ProtobufWire", dependencies: ["TensorCore"]),
        .target(name: "TFCheckpoint", dependencies: ["TensorCore", "ProtobufWire"]),
        .target(name: "ONNXFormat", dependencies: ["TensorCore", "ProtobufWire"]),
        .target(name: "TFGraph", dependencies: ["TensorCore", "ProtobufWire"]),
        .target(name: "ParityModel", dependencies: ["TensorCore", "SafeTensors"]),
        .target(name: "TFParityRuntime", dependencies: ["ParityModel", "SafeTensors", "TensorCore"]),
        // Lowers a layer graph to ONNX, one lowering per operation (Lowerings/); pure Swift.
        .target(name: "ONNXExport", dependencies: ["ParityModel", "ONNXFormat", "TensorCore"]),
        .target(
            name: "Importers",
            dependencies: [
                "TensorCore", "NumPyFormat", "HDF5Kit", "SafeTensors", "TFCheckpoint", "TFGraph", "ParityModel",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "TFParityKit",
            dependencies: [
                "TensorCore", "NumPyFormat", "HDF5Kit", "SafeTensors", "TFCheckpoint", "ParityModel", "Importers",
                "CLibcrypto", "ONNXFormat", "ONNXExport",
            ]
        ),
        .target(
            name: "Reports", dependencies: ["TFParityKit", "Importers", "ParityModel", "TensorCore", "ONNXExport"]),
        // ParityModel's element-by-element kernels in AVX2 and AVX-512 (bit for bit the same values) and an AVX-512
        // matrix product over weights packed once, for Platform to pass in.
        .target(name: "CVectorMath", path: "Sources/CVectorMath"),
        .target(name: "Platform", dependencies: ["ParityModel", "CVectorMath"]),
        .executableTarget(
            name: "tfparity",
            dependencies: [
                "TFParityKit", "Importers", "Reports", "Platform", "ONNXExport", "ONNXFormat",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "NumPyFormatTests", dependencies: ["NumPyFormat", "TestSupport"]),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit", "TestSupport"]),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors", "TestSupport"]),
        .testTarget(name: "TFCheckpointTests", dependencies: ["TFCheckpoint", "TestSupport"]),
        .testTarget(
            name: "ONNXFormatTests", dependencies: ["ONNXFormat", "ProtobufWire", "NumPyFormat", "TestSupport"]),
        .testTarget(name: "TFGraphTests", dependencies: ["TFGraph", "TFCheckpoint", "ProtobufWire", "TestSupport"]),
        .testTarget(
            name: "ONNXExportTests",
            dependencies: ["ONNXExport", "ONNXFormat", "ParityModel", "TFParityKit", "NumPyFormat", "TestSupport"]),
        .testTarget(name: "ParityModelTests", dependencies: ["ParityModel", "NumPyFormat", "TestSupport"]),
        .testTarget(
            name: "TFParityKitTests",
            dependencies: [
                "TFParityKit", "Importers", "Reports", "Platform", "TestSupport", "NumPyFormat", "SafeTensors",
                "TFCheckpoint", "HDF5Kit",
            ]),
        .testTarget(name: "CLITests", dependencies: ["tfparity", "TestSupport", "NumPyFormat", "TensorCore"]),
        .testTarget(
            name: "TFParityRuntimeTests",
            dependencies: ["TFParityRuntime", "TFParityKit", "Importers", "Reports", "NumPyFormat", "TestSupport"]
        ),
    ]
)
