// swift-tools-version: 6.0
import PackageDescription

// Another package using a converted model: it depends on tfparity's runtime product only, which carries no C library.
// In your own package, depend on the repository instead:
//     .package(url: "https://github.com/<owner>/tfparity", branch: "main"),
// and name the product the same way.
let package = Package(
    name: "RuntimeExample",
    dependencies: [
        .package(name: "tfparity", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "RuntimeExample",
            dependencies: [.product(name: "TFParityRuntime", package: "tfparity")]
        )
    ]
)
