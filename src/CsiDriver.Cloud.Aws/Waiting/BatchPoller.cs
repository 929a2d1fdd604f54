using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Waiting;

/// <summary>Describes a batch of ids; ids that do not exist are simply absent from the answer.</summary>
public delegate Task<IReadOnlyDictionary<string, T>> BatchDescribe<T>(IReadOnlyList<string> ids, CancellationToken cancellationToken);

/// <summary>How one wait behaves.</summary>
/// <param name="What">What is awaited, for the timeout message ("volume vol-1 to become available").</param>
/// <param name="Immediate">Describe as soon as possible instead of after the first poll interval.</param>
/// <param name="RecentlyCreated">The id was just created: "not found" means "not visible yet" during the grace window.</param>
/// <param name="Within">When set, the first Describe comes after this long instead of after the first poll interval.</param>
public sealed record WaitSpec(string What, bool Immediate = false, bool RecentlyCreated = false, TimeSpan? Within = null);

/// <summary>
/// One loop per resource type that serves every waiter with as few Describe calls as it can: all waiters
/// that are due are described together, up to <c>maxIdsPerCall</c> ids per call, so N concurrent waits
/// cost about ceil(N / max) calls per round instead of N. Each waiter has its own exponential backoff
/// (doubling from the initial interval to the cap); waiters due at about the same time share a call.
/// A call that goes out anyway also carries the waiters not due yet, as far as its id limit allows: they
/// learn their state for free, and count as polled (without advancing their backoff), so under a steady
/// stream of waits the loop makes about one call per initial interval instead of one per waiter that falls due.
/// A throttled or unreachable EC2 only delays the waiters; other failures end them. The loop runs under
/// <see cref="BackgroundLoops"/>: when the host stops, the loop ends and its waiters fail with UNAVAILABLE.
/// </summary>
public sealed class BatchPoller<T> where T : class
{
    private readonly string _resource;
    private readonly int _maxIdsPerCall;
    private readonly BatchDescribe<T> _describe;
    private readonly AwsTuning _tuning;
    private readonly DriverMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly BackgroundLoops _loops;
    private readonly object _gate = new();
    private readonly List<Waiter> _waiters = [];
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;

    public BatchPoller(string resource, int maxIdsPerCall, BatchDescribe<T> describe, AwsTuning tuning,
        DriverMetrics metrics, ILogger logger, TimeProvider? time = null, BackgroundLoops? loops = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIdsPerCall, 1);
        _resource = resource;
        _maxIdsPerCall = maxIdsPerCall;
        _describe = describe;
        _tuning = tuning;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        // Built by hand (tests): a private owner nothing stops; the loop still ends when no waiter is left.
        _loops = loops ?? new BackgroundLoops();
    }

    /// <summary>Waiters not yet resolved (for tests and diagnostics).</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count(w => !w.Completion.Task.IsCompleted);
            }
        }
    }

    /// <summary>The current state of the id (null when it does not exist), folded with concurrent callers.</summary>
    public Task<T?> GetAsync(string id, CancellationToken cancellationToken) =>
        WaitAsync(id, _ => true, new WaitSpec($"{_resource} {id}", Immediate: true), cancellationToken);

    /// <summary>
    /// The state as described at some moment between now and <paramref name="within"/> from now: it rides on a
    /// call made for other waiters in that time, and is described on its own only at the end. For a caller that
    /// waits anyway (a coalescing window) and needs no fresher answer than that.
    /// </summary>
    public Task<T?> GetAsync(string id, TimeSpan within, CancellationToken cancellationToken) =>
        within <= TimeSpan.Zero
            ? GetAsync(id, cancellationToken)
            : WaitAsync(id, _ => true, new WaitSpec($"{_resource} {id}", Within: within), cancellationToken);

    /// <summary>
    /// Waits until <paramref name="done"/> accepts the state (null = EC2 says it does not exist) and returns it.
    /// <paramref name="done"/> may throw a StorageException to end the wait with that failure.
    /// </summary>
    public Task<T?> WaitAsync(string id, Func<T?, bool> done, WaitSpec spec, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_loops.Stopping.IsCancellationRequested)
        {
            throw BackgroundLoops.ShuttingDown();
        }
        var now = _time.GetUtcNow();
        var waiter = new Waiter(id, done, spec)
        {
            Interval = _tuning.PollInitialInterval,
            NextDue = spec.Immediate ? now : now + (spec.Within ?? _tuning.PollInitialInterval),
            GraceUntil = spec.RecentlyCreated ? now + _tuning.NotFoundGrace : DateTimeOffset.MinValue,
            Deadline = now + _tuning.WaitTimeout,
        };
        if (cancellationToken.CanBeCanceled)
        {
            waiter.Cancellation = cancellationToken.Register(() =>
            {
                waiter.Completion.TrySetCanceled(cancellationToken);
                Wake();
            });
        }
        lock (_gate)
        {
            if (_loop is null)
            {
                // Throws UNAVAILABLE once the host is stopping: nothing would poll for this waiter.
                _loop = _loops.Start(LoopAsync);
            }
            else
            {
                _wake.TrySetResult();
            }
            _waiters.Add(waiter);
        }
        return Finish(waiter);
    }

    private static async Task<T?> Finish(Waiter waiter)
    {
        try
        {
            return await waiter.Completion.Task.ConfigureAwait(false);
        }
        finally
        {
            await waiter.Cancellation.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Wake()
    {
        lock (_gate)
        {
            _wake.TrySetResult();
        }
    }

    private async Task LoopAsync(CancellationToken stopping)
    {
        while (true)
        {
            List<Waiter>? due = null;
            TimeSpan delay = TimeSpan.Zero;
            Task wake;
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Completion.Task.IsCompleted);
                if (stopping.IsCancellationRequested)
                {
                    foreach (var waiter in _waiters)
                    {
                        waiter.Completion.TrySetException(BackgroundLoops.ShuttingDown());
                    }
                    _waiters.Clear();
                }
                if (_waiters.Count == 0)
                {
                    _loop = null;
                    return;
                }
                var now = _time.GetUtcNow();
                var next = _waiters.Min(w => w.NextDue);
                if (next > now)
                {
                    delay = next - now;
                }
                else
                {
                    // Fold in every waiter that would be due within half an initial interval: one call now
                    // is cheaper than another call a moment later.
                    var horizon = now + _tuning.PollInitialInterval / 2;
                    due = _waiters.Where(w => w.NextDue <= horizon).ToList();
                    due.AddRange(Riders(due));
                }
                _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wake = _wake.Task;
            }
            if (due is null)
            {
                await Task.WhenAny(Task.Delay(delay, _time, stopping), wake).ConfigureAwait(false);
                continue;
            }
            try
            {
                await PollAsync(due, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // The next round fails every waiter left.
            }
#pragma warning disable CA1031 // The loop must survive anything; each waiter gets the failure.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                AwsBackendLog.PollerFailed(_logger, ex, _resource);
                foreach (var waiter in due)
                {
                    waiter.Completion.TrySetException(StorageException.Internal($"waiting for {waiter.Spec.What} failed: {ex.Message}", ex));
                }
            }
        }
    }

    /// <summary>
    /// Waiters not due yet that fit into the calls the due ones need anyway (the last call's spare ids), soonest
    /// due first. Called under the lock.
    /// </summary>
    private List<Waiter> Riders(List<Waiter> due)
    {
        var ids = new HashSet<string>(due.Select(w => w.Id), StringComparer.Ordinal);
        var spare = (_maxIdsPerCall - (ids.Count % _maxIdsPerCall)) % _maxIdsPerCall;
        var riders = new List<Waiter>();
        if (spare == 0)
        {
            return riders;
        }
        var dueSet = new HashSet<Waiter>(due);
        foreach (var waiter in _waiters.Where(w => !dueSet.Contains(w)).OrderBy(w => w.NextDue))
        {
            if (ids.Add(waiter.Id))
            {
                if (spare == 0)
                {
                    ids.Remove(waiter.Id);
                    continue;
                }
                spare--;
            }
            waiter.Riding = true;
            riders.Add(waiter);
        }
        return riders;
    }

    private async Task PollAsync(List<Waiter> due, CancellationToken stopping)
    {
        var ids = due.Select(w => w.Id).Distinct(StringComparer.Ordinal).ToList();
        foreach (var chunk in ids.Chunk(_maxIdsPerCall))
        {
            var chunkIds = new HashSet<string>(chunk, StringComparer.Ordinal);
            var waiters = due.Where(w => chunkIds.Contains(w.Id) && !w.Completion.Task.IsCompleted).ToList();
            if (waiters.Count == 0)
            {
                continue;
            }
            IReadOnlyDictionary<string, T> states;
            try
            {
                states = await _describe(chunk, stopping).ConfigureAwait(false);
            }
            catch (StorageException ex) when (ex.Kind == FailureKind.Unavailable)
            {
                // Throttled or unreachable after the SDK's retries: back off, the waiters keep their place.
                AwsBackendLog.PollerBackingOff(_logger, chunk.Length, _resource, ex.Message);
                foreach (var waiter in waiters)
                {
                    Reschedule(waiter, _time.GetUtcNow(), ex);
                }
                continue;
            }
            catch (StorageException ex)
            {
                foreach (var waiter in waiters)
                {
                    waiter.Completion.TrySetException(ex);
                }
                continue;
            }
            _metrics.PollerBatch(_resource, waiters.Count);
            var now = _time.GetUtcNow();
            foreach (var waiter in waiters)
            {
                Resolve(waiter, states.GetValueOrDefault(waiter.Id), now);
            }
        }
    }

    private void Resolve(Waiter waiter, T? state, DateTimeOffset now)
    {
        if (state is null && now < waiter.GraceUntil)
        {
            // Just created: EC2's read path may not see it yet. Not found is not gone.
            Reschedule(waiter, now, null);
            return;
        }
        try
        {
            if (waiter.Done(state))
            {
                waiter.Completion.TrySetResult(state);
                return;
            }
        }
#pragma warning disable CA1031 // The condition's failure is the waiter's result.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            waiter.Completion.TrySetException(ex);
            return;
        }
        Reschedule(waiter, now, null);
    }

    private void Reschedule(Waiter waiter, DateTimeOffset now, Exception? lastError)
    {
        if (now >= waiter.Deadline)
        {
            var reason = lastError is null ? string.Empty : $" (last error: {lastError.Message})";
            waiter.Completion.TrySetException(StorageException.Unavailable(
                $"timed out after {_tuning.WaitTimeout.TotalSeconds:0}s waiting for {waiter.Spec.What}{reason}"));
            return;
        }
        waiter.NextDue = now + waiter.Interval;
        if (waiter.Riding)
        {
            // Described early, on another waiter's call: its own schedule starts over, its backoff stays.
            waiter.Riding = false;
            return;
        }
        var doubled = waiter.Interval * 2;
        waiter.Interval = doubled > _tuning.PollMaxInterval ? _tuning.PollMaxInterval : doubled;
    }

    private sealed class Waiter(string id, Func<T?, bool> done, WaitSpec spec)
    {
        public string Id { get; } = id;
        public Func<T?, bool> Done { get; } = done;
        public WaitSpec Spec { get; } = spec;
        public TaskCompletionSource<T?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Cancellation { get; set; }
        public TimeSpan Interval { get; set; }
        public DateTimeOffset NextDue { get; set; }
        public DateTimeOffset GraceUntil { get; set; }
        public DateTimeOffset Deadline { get; set; }

        /// <summary>Described on a call made for other waiters (not due itself).</summary>
        public bool Riding { get; set; }
    }
}
