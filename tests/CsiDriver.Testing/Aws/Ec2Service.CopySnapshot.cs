using System.Xml;

namespace CsiDriver.Testing.Aws;

/// <summary>
/// CopySnapshot, called in the target region: copies a completed snapshot of SourceRegion into this region.
/// A KMS key given by ARN must be in this (the destination) region, as EC2 requires.
/// </summary>
internal sealed partial class Ec2Service
{
    /// <summary>Set by the simulator: the snapshot of another region's account (region, id) → its view, or null.</summary>
    public Func<string, string, Ec2SnapshotView?>? RegionSnapshots { get; set; }

    public string Region { get; init; } = "";

    /// <summary>A snapshot as another region's CopySnapshot reads it.</summary>
    public Ec2SnapshotView? SnapshotView(string snapshotId)
    {
        lock (_gate)
        {
            var now = Advance();
            return _snapshots.TryGetValue(snapshotId, out var snapshot) ? snapshot.View(now) : null;
        }
    }

    private Ec2SnapshotView CopySourceOf(Ec2Request request)
    {
        var sourceRegion = request.Required("SourceRegion");
        var sourceId = request.Required("SourceSnapshotId");
        return RegionSnapshots?.Invoke(sourceRegion, sourceId)
            ?? throw new Ec2ErrorException("InvalidSnapshot.NotFound", $"The snapshot '{sourceId}' does not exist in {sourceRegion}.");
    }

    private Action<XmlWriter> CopySnapshot(Ec2Request request, DateTimeOffset now, Ec2SnapshotView source)
    {
        if (source.State != "completed")
        {
            throw new Ec2ErrorException("IncorrectState", $"Snapshot {source.SnapshotId} is in invalid state - {source.State}");
        }
        var kmsKeyId = request.Get("KmsKeyId");
        if (kmsKeyId is not null && kmsKeyId.StartsWith("arn:aws:kms:", StringComparison.Ordinal) && kmsKeyId.Split(':')[3] != Region)
        {
            throw new Ec2ErrorException("InvalidParameterValue", $"The KMS key {kmsKeyId} is not in the destination region {Region}.");
        }
        var encrypted = (request.GetBool("Encrypted") ?? false) || kmsKeyId is not null || source.Encrypted;
        var copyKey = kmsKeyId ?? (request.GetBool("Encrypted") == true ? $"arn:aws:kms:{Region}:{options.AccountId}:alias/aws/ebs" : null);
        // A copy crosses regions: slower than a snapshot.
        var copy = NewSnapshot("vol-ffffffff", source.VolumeSize, request.Get("Description") ?? "", encrypted, copyKey,
            request.GetTagSpecifications("snapshot"), now, options.SnapshotDelay * 2);
        _snapshots[copy.Id] = copy;
        return w =>
        {
            w.El("snapshotId", copy.Id);
            if (copy.Tags.Count > 0)
            {
                w.Tags(copy.Tags);
            }
        };
    }
}
