using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;

namespace CsiDriver.Cloud.Local;

/// <summary>What the local backend accepts in CreateVolume / CreateSnapshot, and what makes a retry the same request.</summary>
internal static class LocalCreateRequests
{
    private static readonly HashSet<string> FsTypes = new(StringComparer.Ordinal) { "ext4", "ext3", "xfs" };

    /// <summary>Checks the parameters and returns the volume context (filesystem and its format options).</summary>
    public static IReadOnlyDictionary<string, string> VolumeContextOf(CreateVolumeSpec spec)
    {
        foreach (var key in spec.Parameters.Keys.Order(StringComparer.Ordinal))
        {
            if (!FormatOptions.IsFormatKey(key) && !key.StartsWith(LocalVolumeProvider.CsiKeyPrefix, StringComparison.Ordinal))
            {
                throw StorageException.InvalidArgument($"unknown parameter '{InputEcho.Of(key)}'");
            }
        }
        var fsType = spec.Capabilities.FirstOrDefault(c => !c.IsBlock && c.FsType.Length > 0)?.FsType;
        if (fsType is null)
        {
            if (spec.Parameters.TryGetValue(LocalVolumeProvider.FsTypeParameter, out var fromParameter) && fromParameter.Length > 0)
            {
                if (!FsTypes.Contains(fromParameter))
                {
                    throw StorageException.InvalidArgument(
                        $"parameter {LocalVolumeProvider.FsTypeParameter}={InputEcho.Of(fromParameter)} is not supported (supported: ext4, ext3, xfs)");
                }
                fsType = fromParameter;
            }
            else
            {
                fsType = spec.Capabilities.Count > 0 && spec.Capabilities.All(c => c.IsBlock) ? string.Empty : "ext4";
            }
        }
        return FormatOptions.Parse(spec.Parameters, fsType).ToVolumeContext();
    }

    /// <summary>Snapshots take only the CO's own csi.storage.k8s.io/ parameters.</summary>
    public static void EnsureSnapshotParameters(IReadOnlyDictionary<string, string> parameters)
    {
        foreach (var key in parameters.Keys)
        {
            if (!key.StartsWith(LocalVolumeProvider.CsiKeyPrefix, StringComparison.Ordinal))
            {
                throw StorageException.InvalidArgument($"unknown parameter '{InputEcho.Of(key)}'");
            }
        }
    }

    /// <summary>Local volumes exist in our zone only: a requisite list that excludes it cannot be met.</summary>
    public static void EnsureTopologyReachable(TopologyRequirementSpec? requirements, TopologySegments ours, string zone)
    {
        if (requirements is null || requirements.Requisite.Count == 0)
        {
            return;
        }
        if (!requirements.Requisite.Any(segment => segment.All(kv => ours.TryGetValue(kv.Key, out var value) && value == kv.Value)))
        {
            throw StorageException.ResourceExhausted(
                $"cannot provision in the requested topology: local volumes are only accessible in {LocalVolumeProvider.ZoneKey}={zone}");
        }
    }

    /// <summary>A retry of the create that made this volume returns it; anything else under its name → ALREADY_EXISTS.</summary>
    public static void EnsureSameVolume(LocalVolumeRecord existing, CreateVolumeSpec spec, IReadOnlyDictionary<string, string> volumeContext)
    {
        if (existing.Name != spec.Name)
        {
            throw StorageException.AlreadyExists($"volume id {existing.VolumeId} is already used by volume name {existing.Name}");
        }
        if (existing.CapacityBytes < spec.RequiredBytes || (spec.LimitBytes > 0 && existing.CapacityBytes > spec.LimitBytes))
        {
            throw StorageException.AlreadyExists(
                $"volume {spec.Name} already exists with {existing.CapacityBytes} bytes, outside the requested capacity range");
        }
        if (!SameEntries(existing.Parameters, spec.Parameters) || !SameEntries(existing.VolumeContext, volumeContext))
        {
            throw StorageException.AlreadyExists($"volume {spec.Name} already exists with different parameters");
        }
        if (existing.SourceSnapshotId != spec.ContentSource?.SnapshotId || existing.SourceVolumeId != spec.ContentSource?.VolumeId)
        {
            throw StorageException.AlreadyExists($"volume {spec.Name} already exists with a different content source");
        }
    }

    private static bool SameEntries(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var value) && value == kv.Value);
}
