import Foundation
import ParityModel
import Synchronization
import Testing

/// `Parallel.run` (the engine's `WorkerPool`): every iteration runs exactly once and is finished when the call
/// returns, whether the pool takes the loop, a loop nested in one of its iterations runs on its caller, or several
/// threads start loops at once.
@Suite struct WorkerPoolTests {
    /// Counts how often each iteration ran.
    final class Tally: @unchecked Sendable {
        let counts: UnsafeMutablePointer<Int>
        let count: Int
        init(_ count: Int) {
            self.count = count
            counts = .allocate(capacity: max(count, 1))
            counts.initialize(repeating: 0, count: max(count, 1))
        }
        deinit { counts.deallocate() }
        var all: [Int] { Array(UnsafeBufferPointer(start: counts, count: count)) }
    }

    @Test(arguments: [0, 1, 2, 3, 8, 97, 1000, 70_000])
    func everyIterationRunsOnce(iterations: Int) {
        // Many loops in a row: a worker that misses one, or takes an iteration of an ended loop, shows here.
        for _ in 0..<50 {
            let tally = Tally(iterations)
            Parallel.run(iterations) { i in tally.counts[i] += 1 }
            #expect(tally.all == [Int](repeating: 1, count: iterations))
        }
    }

    @Test func nestedLoopsRunOnTheirCaller() {
        let (outer, inner) = (6, 40)
        let tally = Tally(outer * inner)
        Parallel.run(outer) { i in
            Parallel.run(inner) { j in tally.counts[i * inner + j] += 1 }
        }
        #expect(tally.all == [Int](repeating: 1, count: outer * inner))
    }

    @Test func loopsFromSeveralThreadsAtOnce() {
        let (threads, iterations) = (4, 64)
        let tallies = (0..<threads).map { _ in Tally(iterations) }
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for _ in 0..<200 {
                Parallel.run(iterations) { i in tallies[t].counts[i] += 1 }
            }
        }
        for tally in tallies { #expect(tally.all == [Int](repeating: 200, count: iterations)) }
    }

    /// A loop that outlasts a worker's watch (it has gone to sleep) still finishes with every iteration.
    @Test func aLoopAfterTheWorkersSleep() async throws {
        try await Task.sleep(for: .milliseconds(20))
        let tally = Tally(16)
        Parallel.run(16) { i in tally.counts[i] += 1 }
        #expect(tally.all == [Int](repeating: 1, count: 16))
    }
}
