using System.Collections.Concurrent;

namespace CsiDriver.Core.Concurrency;

/// <summary>
/// Tracks operations in flight by key (volume id, volume name, snapshot name). Two ways in:
/// <see cref="TryAcquire"/> refuses a busy key at once, so the caller can return ABORTED as the CSI spec asks;
/// <see cref="AcquireAsync"/> waits for busy keys, for a backend that serialises its own work per object.
/// Use one instance for one of the two ways: a waiter never blocks a TryAcquire, but a TryAcquire'd key makes waiters wait.
/// </summary>
public sealed class OperationLocks
{
    /// <summary>Key → completed when the holder releases it (waiters then race to take it again).</summary>
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _inFlight = new(StringComparer.Ordinal);

    public int Count => _inFlight.Count;

    /// <summary>Takes every key or none. Returns null when any key is busy.</summary>
    public IDisposable? TryAcquire(params string[] keys)
    {
        var taken = new List<string>(keys.Length);
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            if (!TryTake(key))
            {
                ReleaseAll(taken);
                return null;
            }
            taken.Add(key);
        }
        return new Release(this, taken);
    }

    /// <summary>
    /// Takes every key, waiting for the busy ones. Keys are taken in ordinal order, so two callers that share keys
    /// never wait for each other in a cycle (a caller that already holds keys must only ask for keys ordered after them).
    /// Cancelled while waiting → the keys taken so far are released and OperationCanceledException is thrown.
    /// </summary>
    public async Task<IDisposable> AcquireAsync(IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var ordered = keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var taken = new List<string>(ordered.Count);
        try
        {
            foreach (var key in ordered)
            {
                while (!TryTake(key))
                {
                    if (_inFlight.TryGetValue(key, out var holder))
                    {
                        await holder.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                taken.Add(key);
            }
        }
        catch
        {
            ReleaseAll(taken);
            throw;
        }
        return new Release(this, taken);
    }

    private bool TryTake(string key) =>
        _inFlight.TryAdd(key, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private void ReleaseAll(List<string> keys)
    {
        foreach (var key in keys)
        {
            if (_inFlight.TryRemove(key, out var holder))
            {
                holder.TrySetResult();
            }
        }
    }

    private sealed class Release(OperationLocks owner, List<string> keys) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.ReleaseAll(keys);
            }
        }
    }
}
