using CsiDriver.Core;
using CsiDriver.Core.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Metadata;

/// <summary>
/// Resolves this instance's metadata once: explicit flags win field by field; when the flags name the
/// instance and its zone no source is consulted at all; otherwise the sources are tried in the order of
/// --metadata-sources until one answers. A failure is not cached, so the next call tries again.
/// </summary>
public sealed class InstanceMetadataResolver(
    IOptions<AwsBackendOptions> awsOptions,
    IOptions<DriverOptions> driver,
    ImdsClient? imds,
    KubernetesNodeMetadata? kubernetes,
    ILogger<InstanceMetadataResolver> logger,
    Func<string, string?>? environment = null) : IInstanceMetadataProvider
{
    private readonly AwsBackendOptions _options = awsOptions.Value;
    private readonly DriverOptions _driverOptions = driver.Value;

    private readonly Func<string, string?> _environment = environment ?? Environment.GetEnvironmentVariable;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private InstanceMetadata? _resolved;

    public async Task<InstanceMetadata> GetAsync(CancellationToken cancellationToken)
    {
        if (_resolved is { } done)
        {
            return done;
        }
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _resolved ??= await ResolveAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<InstanceMetadata> ResolveAsync(CancellationToken cancellationToken)
    {
        if (_options.InstanceId is { Length: > 0 } id && _options.AvailabilityZone is { Length: > 0 } az)
        {
            var region = _options.Region ?? _environment("AWS_REGION") ?? _environment("AWS_DEFAULT_REGION") ?? InstanceMetadata.RegionOfZone(az)
                ?? throw StorageException.InvalidArgument($"cannot tell the region of zone {az}; give --region");
            return Override(new InstanceMetadata(id, region, az, null, null, null));
        }
        var failures = new List<string>();
        foreach (var source in _options.MetadataSources)
        {
            try
            {
                InstanceMetadata? found = source switch
                {
                    "imds" when imds is not null => await imds.GetInstanceMetadataAsync(cancellationToken).ConfigureAwait(false),
                    "kubernetes" when kubernetes is not null => await kubernetes.GetAsync(NodeName(), cancellationToken).ConfigureAwait(false),
                    _ => null,
                };
                if (found is null)
                {
                    failures.Add($"{source}: not available in this process");
                    continue;
                }
                AwsBackendLog.MetadataResolved(logger, source, found.InstanceId, found.AvailabilityZone, found.InstanceType);
                return Override(found);
            }
            catch (Exception ex) when (ex is StorageException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                AwsBackendLog.MetadataSourceFailed(logger, source, ex.Message);
                failures.Add($"{source}: {ex.Message}");
            }
        }
        throw StorageException.Unavailable(
            $"could not learn this instance's metadata ({string.Join("; ", failures)}); give --instance-id and --availability-zone");
    }

    private string NodeName() =>
        _environment("NODE_NAME") ?? _environment("CSI_NODE_NAME") ?? _driverOptions.NodeId
        ?? throw StorageException.FailedPrecondition("the Kubernetes metadata source needs the node name (NODE_NAME or --node-id)");

    private InstanceMetadata Override(InstanceMetadata found) => found with
    {
        InstanceId = _options.InstanceId ?? found.InstanceId,
        AvailabilityZone = _options.AvailabilityZone ?? found.AvailabilityZone,
        AvailabilityZoneId = _options.AvailabilityZoneId ?? found.AvailabilityZoneId,
        InstanceType = _options.InstanceType ?? found.InstanceType,
        OutpostArn = _options.OutpostArn ?? found.OutpostArn,
        Region = _options.Region ?? found.Region,
    };
}
