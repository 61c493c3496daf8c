// A certificate chain and its private key as PEM file paths: one certificate a TLS context can serve.

/// The chain lists the leaf first; the leaf's names decide which SNI requests this pair answers.
public struct TLSKeyPair: Sendable, Equatable {
    public var certificateFile: String
    public var privateKeyFile: String

    public init(certificateFile: String, privateKeyFile: String) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }
}
