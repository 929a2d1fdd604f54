using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws;

/// <summary>
/// The aws backend's start-up I/O, in <see cref="IHostedLifecycleService.StartingAsync"/> (before any hosted service
/// starts, so before the CSI socket listens): a controller without a configured region learns it from instance
/// metadata, and a node plugin resolves its instance metadata (node id, zone, instance type). A failure stops the
/// process with the reason instead of failing the first RPC, and nothing blocks inside a DI factory.
/// </summary>
internal sealed class AwsStartup(
    IOptions<DriverOptions> driverOptions,
    AwsHomeRegion home,
    IInstanceMetadataProvider metadata,
    ILogger<AwsStartup> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        var driver = driverOptions.Value;
        if (!(driver.RunsNode || (driver.RunsController && !home.IsKnown)))
        {
            return;
        }
        InstanceMetadata instance;
        try
        {
            instance = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Core.Errors.StorageException ex)
        {
            // The resolver's message already names the flags that skip the lookup (--instance-id, --availability-zone).
            throw new InvalidOperationException(driver.RunsNode
                ? $"aws: {ex.Message}"
                : $"aws: no region given (--region, AWS_REGION) and {ex.Message}", ex);
        }
        if (!home.IsKnown)
        {
            home.Resolve(instance.Region);
            AwsBackendLog.RegionFromMetadata(logger, instance.Region);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
