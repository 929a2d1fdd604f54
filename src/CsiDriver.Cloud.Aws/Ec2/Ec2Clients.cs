using System.Collections.Concurrent;
using Amazon.EC2;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>
/// One EC2 client per throttling bucket. EC2 rate-limits each mutating action in its own token bucket and all
/// Describe* calls in a shared one, while the SDK keeps one retry quota (and, in adaptive mode, one client-side
/// rate limiter) per client. With a single client, a storm of throttled DescribeVolumes polls would drain the quota
/// and hold AttachVolume back too, although EC2 still had attach capacity; a client per bucket keeps them apart.
/// </summary>
public sealed class Ec2Clients : IDisposable
{
    private readonly Func<IAmazonEC2> _create;
    private readonly ConcurrentDictionary<string, Lazy<IAmazonEC2>> _byBucket = new(StringComparer.Ordinal);
    private readonly IAmazonEC2? _shared;

    /// <summary>Builds a client per bucket on first use.</summary>
    public Ec2Clients(Func<IAmazonEC2> create) => _create = create;

    private Ec2Clients(IAmazonEC2 shared)
    {
        _shared = shared;
        _create = () => shared;
    }

    /// <summary>Every action through the one given client (tests, or a deliberately shared client).</summary>
    public static Ec2Clients Shared(IAmazonEC2 client) => new(client);

    /// <summary>The throttling bucket of an action: its own name, or "Describe" for every Describe* action.</summary>
    public static string BucketOf(string action) =>
        action.StartsWith("Describe", StringComparison.Ordinal) ? "Describe" : action;

    public IAmazonEC2 For(string action) =>
        _shared ?? _byBucket.GetOrAdd(BucketOf(action), _ => new Lazy<IAmazonEC2>(_create)).Value;

    public int ClientCount => _shared is null ? _byBucket.Count : 1;

    public void Dispose()
    {
        if (_shared is not null)
        {
            return;
        }
        foreach (var client in _byBucket.Values.Where(c => c.IsValueCreated))
        {
            client.Value.Dispose();
        }
    }
}
