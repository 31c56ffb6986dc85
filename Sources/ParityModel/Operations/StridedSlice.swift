/// A strided slice of the leading axes, as Python's `x[a:b:c, i, …]` on a tensor (TensorFlow's `strided_slice`, what
/// tf_keras records as `SlicingOpLambda` `__operators__.getitem`): per axis from the batch axis on, a range with
/// Python's defaults, negative indices and clamping, or an index that removes the axis; later axes are kept whole.
public struct StridedSlice: LayerOperation {
    public static let typeName = "strided_slice"

    /// One axis of the slice.
    public struct Axis: Sendable, Codable, Equatable {
        /// The first index (nil: the start, or the end for a negative step).
        public var start: Int?
        /// One past the last index (nil: through the end, or the start for a negative step).
        public var stop: Int?
        public var step: Int
        /// An index rather than a range: `start` is taken and the axis removed.
        public var index: Bool

        public init(start: Int? = nil, stop: Int? = nil, step: Int = 1) {
            (self.start, self.stop, self.step, index) = (start, stop, step, false)
        }

        public init(index: Int) { (start, stop, step, self.index) = (index, nil, 1, true) }

        /// The indices taken from an axis of `size`: first, step, count; nil for an index out of range. (Public for
        /// the ONNX export, which writes these exact bounds where the size is known.)
        public func range(size: Int) -> (first: Int, step: Int, count: Int)? {
            if index {
                guard let start else { return nil }
                let i = start < 0 ? start + size : start
                return (0..<size).contains(i) ? (i, 1, 1) : nil
            }
            if step > 0 {
                let first = Swift.min(Swift.max((start ?? 0) < 0 ? (start ?? 0) + size : (start ?? 0), 0), size)
                let last = Swift.min(Swift.max((stop ?? size) < 0 ? (stop ?? size) + size : (stop ?? size), 0), size)
                return (first, step, last > first ? (last - first + step - 1) / step : 0)
            }
            let first = start.map { Swift.min(Swift.max($0 < 0 ? $0 + size : $0, -1), size - 1) } ?? size - 1
            let last = stop.map { Swift.min(Swift.max($0 < 0 ? $0 + size : $0, -1), size - 1) } ?? -1
            return (first, step, first > last ? (first - last - step - 1) / -step : 0)
        }

        enum CodingKeys: String, CodingKey { case start, stop, step, index }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            start = try container.decodeIfPresent(Int.self, forKey: .start)
            stop = try container.decodeIfPresent(Int.self, forKey: .stop)
            step = try container.decodeIfPresent(Int.self, forKey: .step) ?? 1
            index = try container.decodeIfPresent(Bool.self, forKey: .index) ?? false
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(start, forKey: .start)
            try container.encodeIfPresent(stop, forKey: .stop)
            if step != 1 { try container.encode(step, forKey: .step) }
            if index { try container.encode(true, forKey: .index) }
        }
    }

    public var axes: [Axis]

    public init(axes: [Axis]) { self.axes = axes }

    public func validate() throws(LayerProblem) {
        guard axes.count <= 64 else {
            throw .attribute("axes", value: "\(axes.count) axes", reason: "slices more than 64 axes")
        }
        let bound = 1 << 62
        for (position, axis) in axes.enumerated() {
            let values = [axis.start, axis.stop, axis.step].compactMap { $0 }
            guard values.allSatisfy({ (-bound...bound).contains($0) }), axis.step != 0 else {
                throw .attribute(
                    "axes[\(position)]", value: "\(axis)", reason: "indices must be within ±2^62 and the step non-zero")
            }
            if axis.index, axis.start == nil {
                throw .attribute("axes[\(position)]", value: "\(axis)", reason: "an index needs its start")
            }
        }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        guard let rank = x.rank else { return .unknown }
        guard axes.count <= rank else {
            throw .inputShape(expected: "at least \(axes.count) axes to slice", actual: "\(x)")
        }
        var dims: [Int?] = []
        for (position, size) in x.dims.enumerated() {
            guard position < axes.count else {
                dims.append(size)
                continue
            }
            let axis = axes[position]
            guard let size else {
                if !axis.index { dims.append(nil) }
                continue
            }
            guard let range = axis.range(size: size) else {
                throw .inputShape(
                    expected: "an axis \(position) that index \(axis.start ?? 0) is within", actual: "\(x)")
            }
            if !axis.index { dims.append(range.count) }
        }
        return ValueShape(dims)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(axes: axes)
    }

    struct Prepared: PreparedOperation {
        let axes: [Axis]

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let rank = x.shape.count
            var ranges: [(first: Int, step: Int, count: Int)] = []
            for position in 0..<rank {
                let size = x.shape[position]
                if position < axes.count {
                    guard let range = axes[position].range(size: size) else {
                        preconditionFailure("slice ranges were checked by outputShape")
                    }
                    ranges.append(range)
                } else {
                    ranges.append((0, 1, size))
                }
            }
            var strides = [Int](repeating: 1, count: rank)
            for axis in stride(from: rank - 2, through: 0, by: -1) {
                strides[axis] = strides[axis + 1] * x.shape[axis + 1]
            }
            let count = ranges.reduce(1) { $0 * $1.count }
            var y = [Float]()
            y.reserveCapacity(count)
            guard count > 0 else { return FloatTensor(shape: outputShape, values: y) }
            let steps = (0..<rank).map { ranges[$0].step * strides[$0] }
            var index = [Int](repeating: 0, count: rank)
            var source = (0..<rank).reduce(0) { $0 + ranges[$1].first * strides[$1] }
            x.values.withUnsafeBufferPointer { values in
                for _ in 0..<count {
                    y.append(values[source])
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        source += steps[axis]
                        if index[axis] < ranges[axis].count { break }
                        source -= steps[axis] * index[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            return FloatTensor(shape: outputShape, values: y)
        }
    }
}
