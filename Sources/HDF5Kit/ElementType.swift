import CHDF5
import TensorCore

/// How a file's element type is read: the tensor dtype and the little-endian memory type HDF5 converts to.
struct ElementMapping {
    let dtype: DType
    /// The memory type passed to `H5Dread`/`H5Aread`; HDF5 converts the file's byte order to it.
    let memoryType: HDF5Handle
}

/// Why an element type is refused, in words for the error message.
struct UnsupportedElementType: Error {
    let description: String
}

enum ElementType {
    /// Maps a file datatype to a tensor dtype and a little-endian memory type.
    ///
    /// Integers of 1/2/4/8 bytes and IEEE floats of 2/4/8 bytes are read; h5py's boolean (an 8-bit enum
    /// `FALSE = 0, TRUE = 1`) becomes `.bool`. Memory types are the `H5T_STD_*LE`/`H5T_IEEE_*LE` types
    /// rather than `H5T_NATIVE_*`, so the bytes are little-endian whatever the host's order.
    static func mapping(for fileType: HDF5Handle) throws -> ElementMapping {
        let typeClass = hdf5.H5Tget_class(fileType.id)
        let size = hdf5.H5Tget_size(fileType.id)
        switch typeClass {
        case H5T_INTEGER:
            let signed = hdf5.H5Tget_sign(fileType.id) != H5T_SGN_NONE
            let (dtype, memory): (DType, hid_t)
            switch (size, signed) {
            case (1, true): (dtype, memory) = (.int8, tfp_H5T_STD_I8LE())
            case (1, false): (dtype, memory) = (.uint8, tfp_H5T_STD_U8LE())
            case (2, true): (dtype, memory) = (.int16, tfp_H5T_STD_I16LE())
            case (2, false): (dtype, memory) = (.uint16, tfp_H5T_STD_U16LE())
            case (4, true): (dtype, memory) = (.int32, tfp_H5T_STD_I32LE())
            case (4, false): (dtype, memory) = (.uint32, tfp_H5T_STD_U32LE())
            case (8, true): (dtype, memory) = (.int64, tfp_H5T_STD_I64LE())
            case (8, false): (dtype, memory) = (.uint64, tfp_H5T_STD_U64LE())
            default: throw UnsupportedElementType(description: "\(size * 8)-bit integer")
            }
            return ElementMapping(dtype: dtype, memoryType: try copy(memory))
        case H5T_FLOAT:
            switch size {
            case 2: return try halfMapping(for: fileType)
            case 4: return ElementMapping(dtype: .float32, memoryType: try copy(tfp_H5T_IEEE_F32LE()))
            case 8: return ElementMapping(dtype: .float64, memoryType: try copy(tfp_H5T_IEEE_F64LE()))
            default: throw UnsupportedElementType(description: "\(size * 8)-bit float")
            }
        case H5T_ENUM:
            return try booleanMapping(for: fileType)
        default:
            throw UnsupportedElementType(description: name(of: typeClass))
        }
    }

    /// A 2-byte float: IEEE binary16 or bfloat16, told apart by their bit fields (`H5Tget_fields`).
    private static func halfMapping(for fileType: HDF5Handle) throws -> ElementMapping {
        var sign = 0
        var exponentPosition = 0
        var exponentSize = 0
        var mantissaPosition = 0
        var mantissaSize = 0
        try HDF5Call.status("H5Tget_fields") {
            hdf5.H5Tget_fields(fileType.id, &sign, &exponentPosition, &exponentSize, &mantissaPosition, &mantissaSize)
        }
        let bias = hdf5.H5Tget_ebias(fileType.id)
        let layout = [sign, exponentPosition, exponentSize, mantissaPosition, mantissaSize]
        if layout == [15, 10, 5, 0, 10], bias == 15 {
            return ElementMapping(dtype: .float16, memoryType: try halfType(layout: layout, bias: 15))
        }
        if layout == [15, 7, 8, 0, 7], bias == 127 {
            return ElementMapping(dtype: .bfloat16, memoryType: try halfType(layout: layout, bias: 127))
        }
        throw UnsupportedElementType(description: "16-bit float with fields \(layout) and exponent bias \(bias)")
    }

    /// A little-endian 2-byte float type built as h5py builds its `float16`: HDF5 1.10 predefines none.
    private static func halfType(layout: [Int], bias: Int) throws -> HDF5Handle {
        let type = try copy(tfp_H5T_IEEE_F32LE())
        try HDF5Call.status("H5Tset_fields") {
            hdf5.H5Tset_fields(type.id, layout[0], layout[1], layout[2], layout[3], layout[4])
        }
        try HDF5Call.status("H5Tset_size") { hdf5.H5Tset_size(type.id, 2) }
        try HDF5Call.status("H5Tset_ebias") { hdf5.H5Tset_ebias(type.id, bias) }
        return type
    }

    /// h5py's boolean: a 1-byte integer enum with exactly `FALSE = 0` and `TRUE = 1`. Other enums are refused
    /// because their values mean nothing as tensor elements.
    private static func booleanMapping(for fileType: HDF5Handle) throws -> ElementMapping {
        let size = hdf5.H5Tget_size(fileType.id)
        let count = try HDF5Call.status("H5Tget_nmembers") { hdf5.H5Tget_nmembers(fileType.id) }
        guard size == 1 else {
            throw UnsupportedElementType(description: "enum of \(size)-byte integers (\(count) members)")
        }
        var members: [String: Int8] = [:]
        for index in 0..<UInt32(count) {
            guard let cName = hdf5.H5Tget_member_name(fileType.id, index) else { continue }
            let name = String(cString: cName)
            _ = hdf5.H5free_memory(cName)  // frees what the library allocated; a failure leaves nothing to do
            // The value is stored in the enum's 1-byte base type.
            var value: Int8 = 0
            try HDF5Call.status("H5Tget_member_value") { hdf5.H5Tget_member_value(fileType.id, index, &value) }
            members[name] = value
        }
        guard count == 2, members["FALSE"] == 0, members["TRUE"] == 1 else {
            let names = members.keys.sorted().joined(separator: ", ")
            throw UnsupportedElementType(description: "enum (\(names)); only h5py's boolean enum is read")
        }
        // One byte has no byte order, so the native form of the file's enum is the memory type.
        let memory = try HDF5Call.open(.datatype, "H5Tget_native_type") {
            hdf5.H5Tget_native_type(fileType.id, H5T_DIR_ASCEND)
        }
        return ElementMapping(dtype: .bool, memoryType: memory)
    }

    /// A modifiable copy of a predefined type (`H5Tcopy`), owned so it is closed.
    static func copy(_ type: hid_t) throws(HDF5CallFailure) -> HDF5Handle {
        try HDF5Call.open(.datatype, "H5Tcopy") { hdf5.H5Tcopy(type) }
    }

    /// A class's name for messages.
    static func name(of typeClass: H5T_class_t) -> String {
        switch typeClass {
        case H5T_INTEGER: "integer"
        case H5T_FLOAT: "float"
        case H5T_TIME: "time"
        case H5T_STRING: "string"
        case H5T_BITFIELD: "bitfield"
        case H5T_OPAQUE: "opaque"
        case H5T_COMPOUND: "compound (record)"
        case H5T_REFERENCE: "object or region reference"
        case H5T_ENUM: "enum"
        case H5T_VLEN: "variable-length sequence"
        case H5T_ARRAY: "array"
        default: "unknown type class \(typeClass.rawValue)"
        }
    }
}
