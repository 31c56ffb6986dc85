import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The engine's threads for the loops it splits over the cores: the calling thread and `cores - 1` workers that,
/// after a loop, keep watching for the next one for a short while (`spin`) before they sleep, as onnxruntime's
/// intra-op threads do. Waking a sleeping thread through Dispatch cost tens of microseconds here, more than most
/// layers of a small model compute, so the engine split only large loops and left a core idle for most of a
/// MobileNetV2 (its forward pass used 1.07 cores of 2); a watching worker joins a loop in well under a microsecond.
///
/// One loop at a time: a loop started while another runs (from a worker, or from a second thread calling the engine)
/// runs on its caller alone. Which thread computes an iteration never changes a value: every loop split over the
/// cores writes disjoint parts, each computed as one thread would.
final class WorkerPool: @unchecked Sendable {
    /// The process's pool (nil on one core): made at the first loop that is split, so a command that splits none
    /// (`convert`, a small model's `verify`) starts no thread.
    static let shared: WorkerPool? = Parallel.cores > 1 ? WorkerPool(workers: Parallel.cores - 1) : nil

    /// How long a worker keeps watching after a loop before it sleeps: long enough to span the gap between one
    /// layer's loop and the next, short enough that an idle engine gives its core back at once.
    static let spin: UInt64 = 1_000_000  // nanoseconds

    /// The most iterations one loop hands out (the count is packed into `state`).
    static let maximumIterations = 1 << 16

    /// The current loop: its generation (bits 32–63), its iteration count (16–31) and the next iteration to hand out
    /// (0–15). A worker takes an iteration by a compare-and-exchange on all three, so it never takes one of a loop
    /// that has ended.
    private let state = Atomic<UInt64>(0)
    /// The current loop's iterations not yet finished.
    private let remaining = Atomic<Int>(0)
    /// Whether a loop is running (taken by the caller that starts one).
    private let busy = Atomic<Bool>(false)
    /// Workers asleep on `condition` (or about to be).
    private let sleepers = Atomic<Int>(0)
    private let condition = NSCondition()
    /// The current loop's body: written by the caller before it publishes the loop in `state`, read by a worker only
    /// after it has taken an iteration (so while the loop runs), cleared after every iteration has finished.
    private let body: UnsafeMutablePointer<((Int) -> Void)?>

    private init(workers: Int) {
        body = .allocate(capacity: 1)
        body.initialize(to: nil)
        for index in 0..<workers {
            let thread = Thread { [unowned self] in self.watch() }
            thread.name = "tfparity-worker-\(index + 1)"
            thread.start()
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count` on the caller and the workers; false (nothing run) when another
    /// loop holds the pool or `count` is out of range, for the caller to run the loop alone.
    func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
        guard count > 1, count < Self.maximumIterations,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        withoutActuallyEscaping(body) { body in
            self.body.pointee = body
            remaining.store(count, ordering: .relaxed)
            let generation = ((state.load(ordering: .relaxed) >> 32) &+ 1) & 0xFFFF_FFFF
            state.store(generation << 32 | UInt64(count) << 16, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
            work(generation)
            // A worker that took the last iterations finishes them; on a loaded machine it may have lost its core,
            // so the caller gives its own up now and then instead of spinning through the worker's time slice.
            var polls = 0
            while remaining.load(ordering: .acquiring) > 0 {
                polls &+= 1
                if polls & 255 == 0 { sched_yield() }
            }
            self.body.pointee = nil
        }
        busy.store(false, ordering: .releasing)
        return true
    }

    /// Takes and runs iterations of loop `generation` until none is left to take.
    private func work(_ generation: UInt64) {
        while true {
            let current = state.load(ordering: .acquiring)
            let (count, next) = ((current >> 16) & 0xFFFF, current & 0xFFFF)
            guard current >> 32 == generation, next < count else { return }
            guard
                state.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
                    .exchanged
            else { continue }
            body.pointee?(Int(next))
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// A worker's life: watch for a new loop, join it, watch again; asleep after `spin` without one.
    private func watch() {
        var seen: UInt64 = 0
        while true {
            var deadline = DispatchTime.now().uptimeNanoseconds + Self.spin
            var polls = 0
            while state.load(ordering: .acquiring) >> 32 == seen {
                polls &+= 1
                guard polls & 1023 == 0 else { continue }
                // Every so often the core goes to whatever else wants it (a loaded machine: a prior pool that only
                // spun lost 5–15 % at load 5–8); with nothing else to run, the yield returns at once.
                sched_yield()
                guard DispatchTime.now().uptimeNanoseconds > deadline else { continue }
                condition.lock()
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while state.load(ordering: .sequentiallyConsistent) >> 32 == seen { condition.wait() }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                condition.unlock()
                deadline = DispatchTime.now().uptimeNanoseconds + Self.spin
            }
            seen = state.load(ordering: .acquiring) >> 32
            work(seen)
        }
    }
}
