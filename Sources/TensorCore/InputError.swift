/// An error about a user's input file, rendered as `<file>[: <member>]: <reason>`.
///
/// Every reader's error enum conforms, so the CLI prints any of them as one `error:` line.
public protocol InputError: Error, CustomStringConvertible {
    /// The file as the user named it.
    var path: String { get }
    /// The tensor, member, dataset or layer within the file, when one is involved.
    var member: String? { get }
    /// What is wrong, in words a user can act on.
    var reason: String { get }
}

extension InputError {
    public var description: String {
        if let member { return "\(path): \(member): \(reason)" }
        return "\(path): \(reason)"
    }
}

/// A plain `InputError` for places that need no enum of their own.
public struct FileError: InputError, Equatable {
    public var path: String
    public var member: String?
    public var reason: String

    public init(path: String, member: String? = nil, reason: String) {
        self.path = path
        self.member = member
        self.reason = reason
    }
}
