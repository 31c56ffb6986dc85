import CHDF5

/// A failed HDF5 C call: the function's name and the messages on HDF5's error stack, innermost last.
///
/// Internal: `HDF5File` turns it into an `HDF5Error` that names the file and dataset.
struct HDF5CallFailure: Error {
    var function: String
    /// Descriptions from the error stack, from the API call down to where the error was detected.
    var messages: [String]

    /// The innermost few messages, outermost first: the API's summary is rarely the useful part.
    var detail: String {
        let innermost = messages.suffix(3)
        return innermost.isEmpty ? "\(function) failed" : innermost.joined(separator: ": ")
    }
}

/// libhdf5's functions, from the library the shim opens on first use (`tfp_hdf5`) rather than the tool linking it:
/// every start of the tool would otherwise pay for loading it and the thirty libraries it brings. `HDF5File` checks
/// that it loads (`HDF5Library.failure`) before anything reaches this. Written once, when first read, and never again
/// (function pointers and the addresses of libhdf5's global ids), so sharing it between threads is safe.
nonisolated(unsafe) let hdf5: tfp_hdf5_functions = {
    guard let functions = tfp_hdf5() else {
        preconditionFailure("libhdf5 used before HDF5File checked it loads: \(String(cString: tfp_hdf5_failure()))")
    }
    return functions.pointee
}()

/// Whether libhdf5 could be opened.
enum HDF5Library {
    /// Why libhdf5 cannot be used (missing, or another version than the headers'), or nil when it can.
    static var failure: String? {
        tfp_hdf5() == nil ? String(cString: tfp_hdf5_failure()) : nil
    }
}

/// The one place every HDF5 C call goes through: it silences HDF5's own error printing, checks the
/// returned status and turns a failure into an `HDF5CallFailure` carrying the error stack's text.
enum HDF5Call {
    /// Process-wide setup, run once: external filter plugins are never loaded, so reading a file cannot
    /// run code from `HDF5_PLUGIN_PATH`.
    private static let processSetup: Void = {
        // A failure leaves plugin loading as it was; reads of plugin-filtered data then fail instead.
        _ = hdf5.H5PLset_loading_state(0)
    }()

    /// Prepares the calling thread. This libhdf5 is built thread-safe, which makes the automatic error
    /// printer a per-thread setting, so it is switched off (`H5Eset_auto2`) on every entry rather than once.
    static func prepare() {
        _ = processSetup
        _ = hdf5.H5Eset_auto2(tfp_H5E_DEFAULT(), nil, nil)
    }

    // `body` must make the C call itself: any later HDF5 API call (even `H5Eset_auto2`) clears the
    // error stack that `failure` reads.

    /// Runs a call returning an identifier (`hid_t`); a negative result throws.
    static func identifier(_ function: String, _ body: () -> hid_t) throws(HDF5CallFailure) -> hid_t {
        prepare()
        let id = body()
        guard id >= 0 else { throw failure(function) }
        return id
    }

    /// Runs a call returning `herr_t`, `htri_t`, `int` or `ssize_t`; a negative result throws.
    @discardableResult
    static func status<Result: BinaryInteger>(_ function: String, _ body: () -> Result) throws(HDF5CallFailure)
        -> Result
    {
        prepare()
        let result = body()
        guard result >= 0 else { throw failure(function) }
        return result
    }

    /// Opens a handle with a call returning `hid_t` and gives it a single owner that closes it.
    static func open(_ kind: HDF5Handle.Kind, _ function: String, _ body: () -> hid_t) throws(HDF5CallFailure)
        -> HDF5Handle
    {
        HDF5Handle(kind, try identifier(function, body))
    }

    /// The current thread's error stack (`H5Ewalk2`, innermost error last), then clears it.
    private static func failure(_ function: String) -> HDF5CallFailure {
        let collector = MessageCollector()
        let walker: H5E_walk2_t = { _, entry, clientData in
            guard let entry, let clientData else { return 0 }
            let collector = Unmanaged<MessageCollector>.fromOpaque(clientData).takeUnretainedValue()
            collector.add(entry.pointee)
            return 0
        }
        withExtendedLifetime(collector) {
            _ = hdf5.H5Ewalk2(
                tfp_H5E_DEFAULT(), H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(collector).toOpaque())
        }
        _ = hdf5.H5Eclear2(tfp_H5E_DEFAULT())
        return HDF5CallFailure(function: function, messages: collector.messages)
    }
}

/// Gathers error-stack entries during `H5Ewalk2`.
private final class MessageCollector {
    var messages: [String] = []

    func add(_ entry: H5E_error2_t) {
        var text = entry.desc.map { String(cString: $0) } ?? ""
        // The minor message ("Not an HDF5 file", "Can't open object") often says more than the description.
        if let minor = Self.message(entry.min_num), !minor.isEmpty, !text.lowercased().contains(minor.lowercased()) {
            text = text.isEmpty ? minor : "\(text) (\(minor))"
        }
        if !text.isEmpty, messages.last != text { messages.append(text) }
    }

    /// The text of an error message id (`H5Eget_msg`).
    private static func message(_ id: hid_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let length = hdf5.H5Eget_msg(id, nil, &buffer, buffer.count)
        guard length > 0 else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The single owner of an HDF5 identifier; `deinit` closes it with the function matching its kind.
final class HDF5Handle {
    enum Kind {
        case file, group, dataset, datatype, dataspace, attribute, propertyList
    }

    let kind: Kind
    let id: hid_t

    init(_ kind: Kind, _ id: hid_t) {
        self.kind = kind
        self.id = id
    }

    deinit {
        // The last owner may release the handle on another thread, whose error printer is still on.
        HDF5Call.prepare()
        // Close failures cannot be reported from deinit and leave nothing for the caller to fix.
        switch kind {
        case .file: _ = hdf5.H5Fclose(id)
        case .group: _ = hdf5.H5Gclose(id)
        case .dataset: _ = hdf5.H5Dclose(id)
        case .datatype: _ = hdf5.H5Tclose(id)
        case .dataspace: _ = hdf5.H5Sclose(id)
        case .attribute: _ = hdf5.H5Aclose(id)
        case .propertyList: _ = hdf5.H5Pclose(id)
        }
    }
}
