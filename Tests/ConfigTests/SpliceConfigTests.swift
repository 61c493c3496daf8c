// limits.splice: on by default, turned off by `false`, and a value that is not a boolean named with its field and line.
import Config
import Testing

@Suite struct SpliceConfigTests {
    @Test func spliceIsOnByDefault() throws {
        #expect(try ConfigLoader.parse(minimalConfig).limits.splice)
    }

    @Test func falseTurnsItOff() throws {
        #expect(try !ConfigLoader.parse(minimalConfig + "limits: { splice: false }\n").limits.splice)
        #expect(try ConfigLoader.parse(minimalConfig + "limits: { splice: true }\n").limits.splice)
    }

    @Test func aValueThatIsNotABooleanIsRefusedWithItsLine() {
        #expect(
            problems(minimalConfig + "limits:\n  splice: off\n") == [
                #"limits.splice: expected true or false, found "off" (line 10)"#
            ])
    }
}
