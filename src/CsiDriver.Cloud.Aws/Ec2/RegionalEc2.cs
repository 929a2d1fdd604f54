using System.Collections.Concurrent;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>
/// EC2 callers for other regions (snapshot copies are made by the target region's CopySnapshot). Each region gets
/// its own clients, pacer and retry quota, as EC2 rate-limits each region on its own. The endpoint is the region's
/// entry in --aws-ec2-region-endpoints, or else its regional endpoint (never the home region's override).
/// </summary>
public sealed class RegionalEc2(IOptions<AwsBackendOptions> awsOptions, DriverMetrics metrics, ILoggerFactory loggers) : IDisposable
{
    private readonly AwsBackendOptions _options = awsOptions.Value;

    private readonly ConcurrentDictionary<string, Lazy<(Ec2Clients Clients, Ec2CallPacer Pacer, Ec2Caller Caller)>> _regions = new(StringComparer.Ordinal);

    public Ec2Caller CallerFor(string region) =>
        _regions.GetOrAdd(region, r => new Lazy<(Ec2Clients, Ec2CallPacer, Ec2Caller)>(() =>
        {
            var endpoint = _options.RegionEndpoints.GetValueOrDefault(r);
            var clients = new Ec2Clients(() => Ec2ClientFactory.Create(r, endpoint, _options.Credentials, _options.RetryMode));
            var pacer = _options.PaceCalls ? new Ec2CallPacer(Ec2CallPacer.Ec2Defaults) : Ec2CallPacer.None;
            return (clients, pacer, new Ec2Caller(clients, pacer, metrics, loggers.CreateLogger<Ec2Caller>()));
        })).Value.Caller;

    public void Dispose()
    {
        foreach (var region in _regions.Values.Where(r => r.IsValueCreated))
        {
            region.Value.Clients.Dispose();
            if (!ReferenceEquals(region.Value.Pacer, Ec2CallPacer.None))
            {
                region.Value.Pacer.Dispose();
            }
        }
    }
}
