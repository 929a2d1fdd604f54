using CsiDriver.Cloud.Aws.Limits;
using CsiDriver.Cloud.Aws.Metadata;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Node;

/// <summary>
/// NodeGetInfo on EC2: the node id is the instance id (unless --node-id says otherwise), the attach limit
/// comes from the instance type (less ENIs, instance-store disks and volumes that are not ours) or
/// --volume-attach-limit, and the topology names the zone and the zone id.
/// </summary>
public sealed class AwsNodeIdentityProvider(
    IInstanceMetadataProvider metadata,
    EbsDeviceFinder devices,
    IOptions<DriverOptions> driver) : INodeIdentityProvider
{
    private readonly DriverOptions _driverOptions = driver.Value;

    public async Task<NodeIdentity> GetAsync(CancellationToken cancellationToken)
    {
        var instance = await metadata.GetAsync(cancellationToken).ConfigureAwait(false);
        var limit = _driverOptions.VolumeAttachLimit > 0
            ? _driverOptions.VolumeAttachLimit
            : InstanceAttachLimits.For(instance.InstanceType, instance.NetworkInterfaces, devices.CountInstanceStoreDisks(), instance.EbsVolumesAtLaunch);
        var topology = new TopologySegments { [EbsVolumeProvider.ZoneKey] = instance.AvailabilityZone };
        if (instance.AvailabilityZoneId is { Length: > 0 } zoneId)
        {
            topology[EbsVolumeProvider.ZoneIdKey] = zoneId;
        }
        return new NodeIdentity(_driverOptions.NodeId ?? instance.InstanceId, limit, topology);
    }
}
