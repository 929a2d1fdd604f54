using System.Collections.Concurrent;

namespace CsiDriver.Core.Concurrency;

/// <summary>
/// Tracks operations in flight by key (volume id, volume name, snapshot name). A second operation on
/// a key that is busy is refused at once, so the caller can return ABORTED as the CSI spec asks.
/// </summary>
public sealed class OperationLocks
{
    private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);

    public int Count => _inFlight.Count;

    /// <summary>Takes every key or none. Returns null when any key is busy.</summary>
    public IDisposable? TryAcquire(params string[] keys)
    {
        var taken = new List<string>(keys.Length);
        foreach (var key in keys.Distinct(StringComparer.Ordinal))
        {
            if (!_inFlight.TryAdd(key, 0))
            {
                foreach (var k in taken)
                {
                    _inFlight.TryRemove(k, out _);
                }
                return null;
            }
            taken.Add(key);
        }
        return new Release(this, taken);
    }

    private sealed class Release(OperationLocks owner, List<string> keys) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                foreach (var key in keys)
                {
                    owner._inFlight.TryRemove(key, out _);
                }
            }
        }
    }
}
