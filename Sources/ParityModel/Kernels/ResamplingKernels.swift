import Foundation

/// Source and target of a resampling kernel, shared by its row tasks: each writes only its own output rows.
private struct ResampleBuffers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

extension ImageKernels {
    /// TensorFlow's `conv2d_transpose` with `kernel` packed as `[in, kh · kw · filters]`: every input pixel's
    /// contributions (one matmul), then each output pixel gathers the ones that land on it, in `(ky, kx)` order.
    static func conv2DTranspose(
        _ input: FloatTensor, kernel: PackedMatrix, kernelShape: [Int], geometry: Convolution2D, padBefore: [Int],
        outputShape: [Int]
    ) -> FloatTensor {
        let image = ImageShape(input.shape)
        let (kh, kw, filters) = (kernelShape[0], kernelShape[1], kernelShape[2])
        let (height, width) = (outputShape[1], outputShape[2])
        let columns = Kernels.matmul(input.values, rows: image.batch * image.height * image.width, kernel)
        var y = [Float](repeating: 0, count: outputShape.reduce(1, *))
        let (sh, sw) = (geometry.strides[0], geometry.strides[1])
        let (dh, dw) = (geometry.dilation[0], geometry.dilation[1])
        let (ph, pw) = (padBefore[0], padBefore[1])
        let contribution = kh * kw * filters
        columns.withUnsafeBufferPointer { columns in
            y.withUnsafeMutableBufferPointer { y in
                guard let source = columns.baseAddress, let target = y.baseAddress else { return }
                let buffers = ResampleBuffers(x: source, y: target)
                Parallel.forEach(image.batch * height, work: y.count * kh * kw) { outputRow in
                    let (b, oy) = (outputRow / height, outputRow % height)
                    for ky in 0..<kh {
                        let t = oy + ph - ky * dh
                        guard t >= 0, t % sh == 0, t / sh < image.height else { continue }
                        let iy = t / sh
                        for ox in 0..<width {
                            let out = buffers.y + (outputRow * width + ox) * filters
                            for kx in 0..<kw {
                                let u = ox + pw - kx * dw
                                guard u >= 0, u % sw == 0, u / sw < image.width else { continue }
                                let pixel = (b * image.height + iy) * image.width + u / sw
                                let from = buffers.x + pixel * contribution + (ky * kw + kx) * filters
                                for f in 0..<filters { out[f] += from[f] }
                            }
                        }
                    }
                }
            }
        }
        return FloatTensor(shape: outputShape, values: y)
    }

    /// Each pixel repeated `outputShape / input` times along height and width.
    static func repeatPixels(_ x: FloatTensor, outputShape: [Int]) -> FloatTensor {
        let image = ImageShape(x.shape)
        let (height, width, c) = (outputShape[1], outputShape[2], image.channels)
        let (fh, fw) = (height / image.height, width / image.width)
        var y = [Float](repeating: 0, count: outputShape.reduce(1, *))
        x.values.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                guard let source = x.baseAddress, let target = y.baseAddress else { return }
                for b in 0..<image.batch {
                    for oy in 0..<height {
                        let row = source + (b * image.height + oy / fh) * image.width * c
                        let out = target + (b * height + oy) * width * c
                        for ox in 0..<width { (out + ox * c).update(from: row + (ox / fw) * c, count: c) }
                    }
                }
            }
        }
        return FloatTensor(shape: outputShape, values: y)
    }

    /// One axis of TensorFlow's `ResizeBilinear` with half-pixel centres: for output index `i`,
    /// `in = (i + 0.5) · scale − 0.5` in float32 (`scale = in_size / out_size`), the neighbours
    /// `max(floor(in), 0)` and `min(ceil(in), in_size − 1)`, and the weight `in − floor(in)`.
    private static func bilinearWeights(input: Int, output: Int) -> (lower: [Int], upper: [Int], lerp: [Float]) {
        let scale = Float(input) / Float(output)
        var (lower, upper, lerp) = ([Int](), [Int](), [Float]())
        for i in 0..<output {
            let position = (Float(i) + 0.5) * scale - 0.5
            let floor = position.rounded(.down)
            lower.append(max(Int(floor), 0))
            upper.append(min(Int(position.rounded(.up)), input - 1))
            lerp.append(position - floor)
        }
        return (lower, upper, lerp)
    }

    /// TensorFlow's `ResizeBilinear(half_pixel_centers=True)`: `top = tl + (tr − tl) · xl`,
    /// `bottom = bl + (br − bl) · xl`, `y = top + (bottom − top) · yl`, in float32.
    static func resizeBilinear(_ x: FloatTensor, outputShape: [Int]) -> FloatTensor {
        let image = ImageShape(x.shape)
        let (height, width, c) = (outputShape[1], outputShape[2], image.channels)
        let rows = bilinearWeights(input: image.height, output: height)
        let columns = bilinearWeights(input: image.width, output: width)
        var y = [Float](repeating: 0, count: outputShape.reduce(1, *))
        x.values.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                guard let source = x.baseAddress, let target = y.baseAddress else { return }
                let buffers = ResampleBuffers(x: source, y: target)
                Parallel.forEach(image.batch * height, work: y.count * 8) { outputRow in
                    let (b, oy) = (outputRow / height, outputRow % height)
                    let top = buffers.x + (b * image.height + rows.lower[oy]) * image.width * c
                    let bottom = buffers.x + (b * image.height + rows.upper[oy]) * image.width * c
                    let yl = rows.lerp[oy]
                    let out = buffers.y + outputRow * width * c
                    for ox in 0..<width {
                        let (left, right, xl) = (columns.lower[ox] * c, columns.upper[ox] * c, columns.lerp[ox])
                        for ci in 0..<c {
                            let (tl, tr) = (top[left + ci], top[right + ci])
                            let (bl, br) = (bottom[left + ci], bottom[right + ci])
                            let upper = tl + (tr - tl) * xl
                            let lower = bl + (br - bl) * xl
                            out[ox * c + ci] = upper + (lower - upper) * yl
                        }
                    }
                }
            }
        }
        return FloatTensor(shape: outputShape, values: y)
    }
}
