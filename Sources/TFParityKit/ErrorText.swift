/// Text from files (tensor names, member names, paths) made safe to print on one line of a terminal.
public enum ErrorText {
    /// `text` with every control character spelled out: `\n`, `\r`, `\t`, `\x1b` for the other C0 controls and DEL,
    /// `\u{9b}` for C1 controls and the Unicode line and paragraph separators. An error line built from it can neither
    /// span two lines nor move the cursor, change colours or retitle the terminal.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                out += scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{\(hex)}"
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0) || scalar.value == 0x2028
            || scalar.value == 0x2029
    }
}
