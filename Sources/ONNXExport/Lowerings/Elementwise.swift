import ONNXFormat
import ParityModel

/// `Elementwise`: ONNX `Add`, `Sub`, `Mul`, `Div`, `Max` or `Min`, one rounding per element as TensorFlow computes
/// it (`x / 3` is `Div`, not a product with a rounded reciprocal). Two tensors broadcast in one layout
/// (`BinaryFold.operands(in:)`); a scalar constant, on the side the model puts it, broadcasts in any layout, so the
/// input is taken as it comes.
struct ElementwiseLowering: ONNXLowering {
    static func lower(_ op: Elementwise, in context: inout LoweringContext) -> LoweredValue {
        let opType =
            switch op.function {
            case .add: "Add"
            case .subtract: "Sub"
            case .multiply: "Mul"
            case .divide: "Div"
            case .maximum: "Max"
            case .minimum: "Min"
            }
        guard let constant = op.constant else {
            let (operands, channelsFirst) = BinaryFold.operands(in: &context)
            return LoweredValue(name: context.node(opType, operands), channelsFirst: channelsFirst)
        }
        let x = context.input(0)
        let c = context.scalar("constant", constant)
        let y = context.node(opType, op.constantFirst ? [c, x.name] : [x.name, c])
        return LoweredValue(name: y, channelsFirst: x.channelsFirst)
    }
}
