// Spare objects: the warmest is reused first, none is kept beyond the bound, a trim lets go of those a period left untaken, and a stopped loop lets them all go.
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

    @Test func aTrimLetsGoOfWhatNoTakeReachedSinceThePreviousOne() {
        var spares = SpareList<Spare>(limit: 8)
        let cold = (0..<4).map { _ in Spare() }
        for spare in cold { spares.keep(spare) }
        #expect(spares.trim() == 0, "the first trim only starts a period")
        // Two taken during the period, one kept back: the two never reached are let go.
        let warm = spares.take()!, warmer = spares.take()!
        spares.keep(warmer)
        #expect(warm === cold[3] && warmer === cold[2])
        #expect(spares.trim() == 2)
        #expect(spares.count == 1 && spares.take() === warmer)
        #expect(spares.trim() == 0, "nothing left to let go")
        spares.keep(warm)
        #expect(spares.trim() == 0, "kept after the period began: it has a whole period to be taken")
        #expect(spares.trim() == 1)
        #expect(spares.count == 0)
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
