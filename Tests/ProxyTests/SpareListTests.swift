// Spare objects: the warmest is reused first, none is kept beyond the bound, and a stopped loop lets them all go.
@testable import Proxy
import Testing

private final class Spare {}

@Suite struct SpareListTests {
    @Test func theLastKeptIsTakenFirst() {
        var spares = SpareList<Spare>(limit: 4)
        let older = Spare(), newer = Spare()
        spares.keep(older)
        spares.keep(newer)
        #expect(spares.take() === newer)
        #expect(spares.take() === older)
        #expect(spares.take() == nil)
    }

    @Test func noneIsKeptBeyondTheLimit() {
        var spares = SpareList<Spare>(limit: 2)
        let first = spares.keep(Spare()), second = spares.keep(Spare()), third = spares.keep(Spare())
        #expect(first && second)
        #expect(!third, "let go: a burst's leftovers are not held")
        #expect(spares.count == 2)
        _ = spares.take()
        let again = spares.keep(Spare())
        #expect(again, "room again once one is taken")
    }

    @Test func removeAllLetsEveryObjectGo() {
        var spares = SpareList<Spare>(limit: 2)
        weak var gone: Spare?
        do {
            let spare = Spare()
            gone = spare
            spares.keep(spare)
        }
        spares.removeAll()
        #expect(gone == nil)
        #expect(spares.take() == nil)
    }
}
