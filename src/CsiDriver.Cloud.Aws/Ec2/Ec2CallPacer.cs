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
            ["DeleteSnapshot"] = (100, 5),
            ["CopyVolumes"] = (100, 5),
            ["AttachVolume"] = (50, 5),
            ["DetachVolume"] = (50, 5),
            ["ModifyVolume"] = (50, 5),
        };

    private readonly Dictionary<string, TokenBucketRateLimiter> _limiters;

    public Ec2CallPacer(IReadOnlyDictionary<string, (int Burst, int PerSecond)> buckets) =>
        _limiters = buckets.ToDictionary(
            b => b.Key,
            b => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = b.Value.Burst,
                // Refill in fifths of a second so tokens arrive evenly, as EC2's buckets refill.
                ReplenishmentPeriod = TimeSpan.FromMilliseconds(200),
                TokensPerPeriod = Math.Max(1, b.Value.PerSecond / 5),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            }),
            StringComparer.Ordinal);

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
