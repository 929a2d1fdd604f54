using System.Text;
using CsiDriver.Core;
using CsiDriver.Core.Node;
using CsiDriver.Core.Storage;
using CsiDriver.Mounter.Devices;
using Microsoft.Extensions.Options;

namespace CsiDriver.Driver.Node;

/// <summary>A target path this driver published a volume at: its device (major:minor), and whether the driver created the path.</summary>
internal sealed record PublishedTarget(string Path, string Device, bool Block, bool CreatedTarget);

/// <summary>
/// This node began to format the volume as FsType when its device was DeviceBytes long (Device: its major:minor then,
/// for people reading the state dir; a loop device's number can change on re-attach, so it is not compared). Written
/// before mkfs runs and removed once mkfs completed, so a record that still has it after a crash says a half-written
/// filesystem on the device is this node's own interrupted mkfs, not someone's data.
/// </summary>
internal sealed record FormatIntent(string FsType, long DeviceBytes, string Device);

/// <summary>
/// What this node remembers about one volume. UsedAsRawBlock and HeldFilesystem are never cleared: a volume that
/// ever held a filesystem or was ever handed to a pod as a raw device holds data, even when no signature is left
/// to show it, so it is never formatted. StagingPath/StagedDevice and Targets name the mounts this driver made, so
/// clean-up can prove a mount is this volume's even when the backend no longer finds the volume's device.
/// </summary>
internal sealed record NodeVolumeRecord
{
    public required string VolumeId { get; init; }

    /// <summary>The backend's <see cref="Core.Node.IDeviceFinder.IncarnationOf"/> when the record was written (null: ids are never reused).</summary>
    public string? Incarnation { get; init; }

    public bool UsedAsRawBlock { get; init; }

    public bool HeldFilesystem { get; init; }

    /// <summary>Set while this node formats the volume (see <see cref="Node.FormatIntent"/>); never with HeldFilesystem.</summary>
    public FormatIntent? FormatStarted { get; init; }

    public string? StagingPath { get; init; }

    public string? StagedDevice { get; init; }

    public IReadOnlyList<PublishedTarget> Targets { get; init; } = [];

    public PublishedTarget? TargetAt(string canonicalPath) => Targets.FirstOrDefault(t => t.Path == canonicalPath);

    /// <summary>The devices recorded for a mount this driver made at the path (staged or published).</summary>
    public IEnumerable<DeviceNumber> DevicesAt(string canonicalPath)
    {
        if (StagingPath == canonicalPath && StagedDevice is not null && DeviceNumber.TryParse(StagedDevice) is { } staged)
        {
            yield return staged;
        }
        foreach (var target in Targets.Where(t => t.Path == canonicalPath))
        {
            if (DeviceNumber.TryParse(target.Device) is { } device)
            {
                yield return device;
            }
        }
    }
}

/// <summary>
/// One crash-safe JSON file per volume under &lt;node-state-dir&gt;/volumes, named by a hash of the volume id (ids
/// may hold any character). Writes go through <see cref="AtomicFile"/>: after a kill -9 a record is the old or the
/// new one. Changes to one volume are serialised by the node's per-volume lock; stats only reads. A record written
/// for an earlier incarnation of the id (a deleted volume whose name was used again) reads as a fresh record.
/// </summary>
internal sealed class NodeVolumeRecords(IOptions<DriverOptions> driverOptions, IDeviceFinder deviceFinder)
{
    private readonly DriverOptions _options = driverOptions.Value;

    private string Directory => Path.Combine(_options.EffectiveNodeStateDir, "volumes");

    public NodeVolumeRecord Read(string volumeId) => Read(volumeId, deviceFinder.IncarnationOf(volumeId));

    /// <summary>Applies a change and writes the record when it changed anything.</summary>
    public NodeVolumeRecord Update(string volumeId, Func<NodeVolumeRecord, NodeVolumeRecord> change)
    {
        var incarnation = deviceFinder.IncarnationOf(volumeId);
        var current = Read(volumeId, incarnation);
        var updated = change(current) with { Incarnation = incarnation ?? current.Incarnation };
        if (!Same(current, updated))
        {
            System.IO.Directory.CreateDirectory(Directory);
            AtomicFile.WriteJson(FileFor(volumeId), updated, NodeJsonContext.Default.NodeVolumeRecord);
        }
        return updated;
    }

    private NodeVolumeRecord Read(string volumeId, string? incarnation)
    {
        var path = FileFor(volumeId);
        var stored = File.Exists(path) ? AtomicFile.ReadJson(path, NodeJsonContext.Default.NodeVolumeRecord) : null;
        var isThisVolume = stored is not null && stored.VolumeId == volumeId
            && (incarnation is null || stored.Incarnation is null || stored.Incarnation == incarnation);
        return isThisVolume ? stored! : new NodeVolumeRecord { VolumeId = volumeId, Incarnation = incarnation };
    }

    private static bool Same(NodeVolumeRecord a, NodeVolumeRecord b) =>
        a.VolumeId == b.VolumeId && a.Incarnation == b.Incarnation && a.UsedAsRawBlock == b.UsedAsRawBlock && a.HeldFilesystem == b.HeldFilesystem
        && a.FormatStarted == b.FormatStarted
        && a.StagingPath == b.StagingPath && a.StagedDevice == b.StagedDevice && a.Targets.SequenceEqual(b.Targets);

    private string FileFor(string volumeId) =>
        Path.Combine(Directory, Convert.ToHexStringLower(Sha256.HashData(Encoding.UTF8.GetBytes(volumeId)))[..32] + ".json");
}
