using System.Threading.RateLimiting;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>
/// Paces EC2 calls to EC2's own token buckets (burst, then a steady refill per second), one bucket per
/// throttling category as EC2 documents them. A call waits here for a token instead of being sent, throttled
/// and retried: under a burst of hundreds of attaches the driver spends no calls on RequestLimitExceeded and
/// no SDK retry quota, and lands near the rate EC2 allows. Accounts with raised limits turn it off
/// (--aws-pace-calls=false) or let the SDK's retries absorb the rare throttle from other API users.
/// </summary>
public sealed class Ec2CallPacer : IDisposable
{
    /// <summary>EC2's default request-rate buckets (burst, refill per second) for the actions the driver calls.</summary>
    public static readonly IReadOnlyDictionary<string, (int Burst, int PerSecond)> Ec2Defaults =
        new Dictionary<string, (int, int)>(StringComparer.Ordinal)
        {
            ["Describe"] = (100, 20),
            ["CreateVolume"] = (100, 5),
            ["DeleteVolume"] = (100, 5),
            ["CreateSnapshot"] = (100, 5),
            ["CreateSnapshots"] = (100, 5),
            ["DeleteSnapshot"] = (100, 5),
            ["CopyVolumes"] = (100, 5),
            ["AttachVolume"] = (50, 5),
            ["DetachVolume"] = (50, 5),
            ["ModifyVolume"] = (50, 5),
        };

    private readonly Dictionary<string, TokenBucketRateLimiter> _limiters;

    public Ec2CallPacer(IReadOnlyDictionary<string, (int Burst, int PerSecond)> buckets)
        : this(buckets, autoReplenish: true)
    {
    }

    /// <summary>Without auto-replenishment, tokens come only from <see cref="Replenish"/> (tests drive the clock).</summary>
    internal Ec2CallPacer(IReadOnlyDictionary<string, (int Burst, int PerSecond)> buckets, bool autoReplenish) =>
        _limiters = buckets.ToDictionary(
            b => b.Key,
            b => new TokenBucketRateLimiter(OptionsFor(b.Key, b.Value.Burst, b.Value.PerSecond, autoReplenish)),
            StringComparer.Ordinal);

    /// <summary>
    /// A bucket of EC2's size less a reserve of one token in 25 (2 of AttachVolume's 50, 4 of CreateVolume's 100):
    /// our refill comes in steps, EC2's continuously from another starting moment, so ours can be up to a step ahead,
    /// and calls leave the process a little bunched. The reserve keeps EC2's bucket from running dry under either,
    /// which would throttle a mutating call and send its SDK retry past the pacer; it costs 2 / 5 = 0.4 s on 1,000 attaches.
    /// Tokens arrive evenly, as EC2's buckets refill: a fifth of the rate every 200 ms where the rate divides by
    /// five (every EC2 default; what bench/ measured), otherwise one token every 1/rate s, so any rate, including
    /// under 5 per second, is kept exactly.
    /// </summary>
    internal static TokenBucketRateLimiterOptions OptionsFor(string bucket, int burst, int perSecond, bool autoReplenish = true)
    {
        if (burst < 1 || perSecond < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(perSecond), $"EC2 bucket {bucket} needs a burst and a refill rate of at least 1, got ({burst}, {perSecond})");
        }
        var fifths = perSecond % 5 == 0;
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst - (burst / 25),
            ReplenishmentPeriod = fifths ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromTicks(TimeSpan.TicksPerSecond / perSecond),
            TokensPerPeriod = fifths ? perSecond / 5 : 1,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = autoReplenish,
        };
    }

    /// <summary>Refills every bucket by what the time since its last refill earned (for a pacer built without auto-replenishment).</summary>
    internal void Replenish()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.TryReplenish();
        }
    }

    /// <summary>No pacing at all: every call goes out at once.</summary>
    public static Ec2CallPacer None { get; } = new(new Dictionary<string, (int, int)>());

    /// <summary>Waits until the action's bucket has a token; actions without a bucket pass at once.</summary>
    public async ValueTask<IDisposable?> WaitAsync(string action, CancellationToken cancellationToken)
    {
        if (!_limiters.TryGetValue(Ec2Clients.BucketOf(action), out var limiter))
        {
            return null;
        }
        var lease = await limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        return lease;
    }

    public void Dispose()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.Dispose();
        }
    }
}
