using System.Xml;

namespace CsiDriver.Testing.Aws;

/// <summary>
/// CreateSnapshots: a crash-consistent snapshot of every volume attached to one instance, at one point in time,
/// minus the boot volume (ExcludeBootVolume) and the data volumes listed in ExcludeDataVolumeId.N.
/// </summary>
internal sealed partial class Ec2Service
{
    private const string RootDevice = "/dev/xvda";

    private Action<XmlWriter> CreateSnapshots(Ec2Request request, DateTimeOffset now)
    {
        var instanceId = request.Required("InstanceSpecification.InstanceId");
        if (!_instances.TryGetValue(instanceId, out var instance))
        {
            throw new Ec2ErrorException("InvalidInstanceID.NotFound", $"The instance ID '{instanceId}' does not exist");
        }
        var excludeBoot = request.GetBool("InstanceSpecification.ExcludeBootVolume") ?? false;
        var excluded = request.GetList("InstanceSpecification.ExcludeDataVolumeId").ToHashSet(StringComparer.Ordinal);
        var attached = BlockDevices(instance, now).Where(b => b.Status == "attached").ToList();
        foreach (var id in excluded.Where(id => attached.All(b => b.VolumeId != id)))
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"Volume {id} is not attached to instance {instanceId}.");
        }
        var description = request.Get("Description") ?? "";
        var tags = request.GetTagSpecifications("snapshot");
        var made = new List<SimSnapshot>();
        foreach (var device in attached)
        {
            if ((excludeBoot && device.Device == RootDevice) || excluded.Contains(device.VolumeId))
            {
                continue;
            }
            var volume = _volumes.GetValueOrDefault(device.VolumeId);
            var snapshot = NewSnapshot(device.VolumeId, volume?.Size ?? 8, description, volume?.Encrypted ?? false, volume?.KmsKeyId,
                tags, now, options.SnapshotDelay);
            made.Add(snapshot);
        }
        if (made.Count == 0)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"No volumes of instance {instanceId} are left to snapshot after the exclusions.");
        }
        foreach (var snapshot in made)
        {
            _snapshots[snapshot.Id] = snapshot;
        }
        return w => w.Set("snapshotSet", made, s => WriteSnapshotInfo(w, s, now, stateElement: "state"));
    }
}
