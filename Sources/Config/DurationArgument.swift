// Durations given on the command line, written as in the config ("500ms", "2s").

public enum DurationArgument {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// `text` read as the config reads a duration; the error says why it is not one.
    public static func parse(_ text: String) throws(Invalid) -> Duration {
        do { return try DurationSyntax.parse(text) } catch { throw Invalid(description: error.message) }
    }
}
