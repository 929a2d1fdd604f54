namespace CsiDriver.Testing.Aws;

/// <summary>One EC2 token bucket: starts full, refills continuously, a request takes one token or is throttled.</summary>
internal sealed class TokenBucket
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private double _tokens;
    private long _lastRefill;

    public TokenBucket(TokenBucketLimit limit, TimeProvider time)
    {
        Limit = limit;
        _time = time;
        _tokens = limit.Burst;
        _lastRefill = time.GetTimestamp();
    }

    public TokenBucketLimit Limit { get; private set; }

    /// <summary>Takes a token when one is there. A throttled request takes none (EC2 does not charge it).</summary>
    public bool TryTake(TokenBucketLimit limit)
    {
        lock (_gate)
        {
            if (limit != Limit)
            {
                // The test changed the limit: start the new bucket full, as a fresh account would.
                Limit = limit;
                _tokens = limit.Burst;
            }
            var now = _time.GetTimestamp();
            var elapsed = _time.GetElapsedTime(_lastRefill, now).TotalSeconds;
            _lastRefill = now;
            _tokens = Math.Min(Limit.Burst, _tokens + (elapsed * Limit.RefillPerSecond));
            if (_tokens < 1)
            {
                return false;
            }
            _tokens -= 1;
            return true;
        }
    }
}

/// <summary>A bucket per API action, sized by <see cref="Ec2ThrottlingOptions"/>.</summary>
internal sealed class Ec2Throttle(Func<Ec2ThrottlingOptions> options, TimeProvider time)
{
    private readonly Dictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>True when the request may proceed.</summary>
    public bool TryAcquire(string action)
    {
        var current = options();
        if (!current.Enabled)
        {
            return true;
        }
        var limit = current.LimitFor(action);
        TokenBucket bucket;
        lock (_buckets)
        {
            if (!_buckets.TryGetValue(action, out bucket!))
            {
                bucket = new TokenBucket(limit, time);
                _buckets[action] = bucket;
            }
        }
        return bucket.TryTake(limit);
    }

    /// <summary>Refills every bucket (between phases of a test or a benchmark).</summary>
    public void Reset()
    {
        lock (_buckets)
        {
            _buckets.Clear();
        }
    }
}
