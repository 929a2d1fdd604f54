namespace CsiDriver.Driver.Grpc;

/// <summary>
/// Which CSI calls are in flight and when the last one ended: what "the driver is idle" means for work that waits
/// for a quiet moment (giving memory back, <c>IdleMemoryTrimmer</c>). Identity calls do not count: the livenessprobe's
/// Probe every few seconds is not work, and an idle plugin must still be able to go quiet. The clock starts at
/// construction, so start-up counts as the first burst of work.
/// </summary>
public sealed class CallActivity
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private int _inFlight;
    private long _started;
    private long _lastEnded;
    private TaskCompletionSource _changed = NewSignal();

    public CallActivity(TimeProvider time)
    {
        _time = time;
        _lastEnded = time.GetTimestamp();
    }

    /// <summary>Work calls started since construction; a caller compares it to see whether new work came.</summary>
    public long CallsStarted
    {
        get
        {
            lock (_gate)
            {
                return _started;
            }
        }
    }

    /// <summary>False for calls of the Identity service (<c>/csi.v1.Identity/Probe</c>), which are not work; true for every other.</summary>
    public static bool IsWork(string grpcMethod) => !grpcMethod.StartsWith("/csi.v1.Identity/", StringComparison.Ordinal);

    public void CallStarted()
    {
        lock (_gate)
        {
            _inFlight++;
            _started++;
            SignalLocked();
        }
    }

    public void CallEnded()
    {
        lock (_gate)
        {
            _inFlight--;
            _lastEnded = _time.GetTimestamp();
            SignalLocked();
        }
    }

    /// <summary>
    /// Completes once no work call is in flight and none has ended for <paramref name="quietFor"/>; returns
    /// <see cref="CallsStarted"/> at that moment.
    /// </summary>
    public async Task<long> WaitForQuietAsync(TimeSpan quietFor, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            TimeSpan remaining;
            long started;
            lock (_gate)
            {
                changed = _changed.Task;
                started = _started;
                remaining = _inFlight > 0 ? Timeout.InfiniteTimeSpan : quietFor - _time.GetElapsedTime(_lastEnded);
            }
            if (remaining != Timeout.InfiniteTimeSpan && remaining <= TimeSpan.Zero)
            {
                return started;
            }
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining, _time, wake.Token);
            await Task.WhenAny(changed, delay).ConfigureAwait(false);
            await wake.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Completes when a work call starts after <paramref name="callsStarted"/> calls had.</summary>
    public async Task WaitForCallAfterAsync(long callsStarted, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_started > callsStarted)
                {
                    return;
                }
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void SignalLocked()
    {
        _changed.TrySetResult();
        _changed = NewSignal();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
