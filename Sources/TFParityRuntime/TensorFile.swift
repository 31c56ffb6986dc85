import Foundation
import SafeTensors

/// Reading plain tensors, such as a test batch saved with `safetensors.numpy.save_file`, from a safetensors file.
public enum TensorFile {
    /// Every tensor in the safetensors file at `url`, by name, converted to float32 (float64, float16, bfloat16 and
    /// integer types are rounded as numpy's `astype(float32)` rounds them).
    /// - Throws: `RuntimeError.unreadableModel` naming the file when it is missing or malformed.
    public static func read(contentsOf url: URL) throws(RuntimeError) -> [String: FloatTensor] {
        do {
            let file = try SafeTensorsFile(path: url.path)
            var tensors: [String: FloatTensor] = [:]
            for name in file.names {
                let tensor = try file.tensor(named: name)
                tensors[name] = FloatTensor(shape: tensor.shape, values: tensor.floatValues())
            }
            return tensors
        } catch {
            let text = "\(error)"
            let prefix = "\(url.path): "
            throw .unreadableModel(
                path: url.path, reason: text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text)
        }
    }
}
