using Csi.V1;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Grpc;
using CsiDriver.Driver.Validation;
using Google.Protobuf.WellKnownTypes;

namespace CsiDriver.Driver.Controller;

/// <summary>Turns Controller request fields into domain records (rejecting malformed ones) and domain results into messages.</summary>
public static class ControllerMapper
{
    /// <summary>Validates capacity_range: no negative byte counts, limit not below required. Null → (0, 0).</summary>
    public static (long RequiredBytes, long LimitBytes) CapacityRange(CapacityRange? range, string field = "capacity_range")
    {
        if (range is null)
        {
            return (0, 0);
        }
        CapacityPlan.ValidateRange(range.RequiredBytes, range.LimitBytes, field);
        return (range.RequiredBytes, range.LimitBytes);
    }

    public static VolumeContentSourceSpec? ContentSource(VolumeContentSource? source)
    {
        if (source is null)
        {
            return null;
        }
        return source.TypeCase switch
        {
            VolumeContentSource.TypeOneofCase.Snapshot =>
                new VolumeContentSourceSpec(RequestValidator.RequireId(source.Snapshot.SnapshotId, "volume_content_source.snapshot.snapshot_id"), null),
            VolumeContentSource.TypeOneofCase.Volume =>
                new VolumeContentSourceSpec(null, RequestValidator.RequireId(source.Volume.VolumeId, "volume_content_source.volume.volume_id")),
            _ => throw StatusMapping.Invalid("volume_content_source must set snapshot or volume"),
        };
    }

    public static TopologyRequirementSpec? Topology(TopologyRequirement? requirement)
    {
        if (requirement is null)
        {
            return null;
        }
        return new TopologyRequirementSpec(
            requirement.Requisite.Select(t => new TopologySegments(t.Segments)).ToArray(),
            requirement.Preferred.Select(t => new TopologySegments(t.Segments)).ToArray());
    }

    public static IReadOnlyDictionary<string, string> Map(Google.Protobuf.Collections.MapField<string, string> map) =>
        new Dictionary<string, string>(map, StringComparer.Ordinal);

    public static Volume ToVolume(VolumeInfo info)
    {
        var volume = new Volume { VolumeId = info.VolumeId, CapacityBytes = info.CapacityBytes };
        AddAll(volume.VolumeContext, info.VolumeContext);
        if (info.ContentSource is { } source)
        {
            volume.ContentSource = source.SnapshotId is not null
                ? new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = source.SnapshotId } }
                : new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = source.VolumeId } };
        }
        foreach (var segments in info.AccessibleTopology)
        {
            var topology = new Csi.V1.Topology();
            AddAll(topology.Segments, segments);
            volume.AccessibleTopology.Add(topology);
        }
        return volume;
    }

    public static VolumeCondition? ToCondition(VolumeConditionInfo? condition) =>
        condition is null ? null : new VolumeCondition { Abnormal = condition.Abnormal, Message = condition.Message };

    public static Snapshot ToSnapshot(SnapshotInfo info) => new()
    {
        SnapshotId = info.SnapshotId,
        SourceVolumeId = info.SourceVolumeId,
        SizeBytes = info.SizeBytes,
        CreationTime = Timestamp.FromDateTimeOffset(info.CreatedAt),
        ReadyToUse = info.ReadyToUse,
        GroupSnapshotId = info.GroupSnapshotId ?? string.Empty,
    };

    public static void AddAll(Google.Protobuf.Collections.MapField<string, string> target, IEnumerable<KeyValuePair<string, string>> entries)
    {
        foreach (var (key, value) in entries)
        {
            target[key] = value;
        }
    }

    /// <summary>An optional id field: empty means "not given".</summary>
    public static string? OptionalId(string value, string field) =>
        value.Length == 0 ? null : RequestValidator.RequireId(value, field);
}
