using System.Diagnostics.Metrics;
using Csi.V1;
using CsiDriver.Core.Observability;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using static CsiDriver.Testing.CsiRequests;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>
/// Snapshot copies to other regions end to end: VolumeSnapshotClass parameters through CreateSnapshot, status checks
/// (ListSnapshots by id, as the snapshotter polls) that start the copies and report ready only when they are done,
/// DeleteSnapshot deleting the copies too. The simulator serves us-east-1, us-west-2 and eu-west-1 on one URL.
/// </summary>
public sealed class AwsSnapshotCopyTests
{
    private const string West = "us-west-2";
    private const string Europe = "eu-west-1";
    private const string WestKey = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    [Fact]
    public async Task Copies_to_two_regions_are_encrypted_tagged_waited_for_and_deleted_with_the_source()
    {
        await using var env = await StartAsync("aws-copy");
        var volume = (await env.Controller.CreateVolumeAsync(Create("pvc-dr"))).Volume;
        var request = new CreateSnapshotRequest { Name = "snap-dr", SourceVolumeId = volume.VolumeId };
        request.Parameters["copySnapshotToRegions"] = $"{West},{Europe}";
        request.Parameters["copySnapshotEncrypted"] = "true";
        request.Parameters["copySnapshotKmsKeyId_" + West] = WestKey;
        request.Parameters["csi.storage.k8s.io/volumesnapshot/name"] = "nightly";

        var created = (await env.Controller.CreateSnapshotAsync(request)).Snapshot;
        Assert.False(created.ReadyToUse);
        var ready = await WaitReadyAsync(env, created.SnapshotId);
        Assert.True(ready.ReadyToUse);

        var west = Assert.Single(env.Simulator.Snapshots(West));
        var europe = Assert.Single(env.Simulator.Snapshots(Europe));
        Assert.Equal("completed", west.State);
        Assert.Equal("completed", europe.State);
        Assert.Equal((true, WestKey), (west.Encrypted, west.KmsKeyId));
        Assert.True(europe.Encrypted);
        foreach (var copy in new[] { west, europe })
        {
            Assert.Equal(created.SnapshotId, copy.Tags["CSICopyOfSnapshot"]);
            Assert.Equal("us-east-1", copy.Tags["CSICopySourceRegion"]);
            Assert.Equal("nightly", copy.Tags["kubernetes.io/created-for/volumesnapshot/name"]);
        }
        Assert.Equal(2, env.Simulator.Statistics.Calls("CopySnapshot"));

        // More status checks and a CreateSnapshot retry start nothing new.
        await WaitReadyAsync(env, created.SnapshotId);
        Assert.True((await env.Controller.CreateSnapshotAsync(request)).Snapshot.ReadyToUse);
        Assert.Equal(2, env.Simulator.Statistics.Calls("CopySnapshot"));

        await env.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = created.SnapshotId });
        Assert.Empty(env.Simulator.Snapshots());
        Assert.Empty(env.Simulator.Snapshots(West));
        Assert.Empty(env.Simulator.Snapshots(Europe));
    }

    [Fact]
    public async Task Retain_keeps_the_copies_when_the_source_is_deleted()
    {
        await using var env = await StartAsync("aws-copy-keep");
        var volume = (await env.Controller.CreateVolumeAsync(Create("pvc-keep"))).Volume;
        var request = new CreateSnapshotRequest { Name = "snap-keep", SourceVolumeId = volume.VolumeId };
        request.Parameters["copySnapshotToRegion"] = West;
        request.Parameters["copySnapshotDeletionPolicy"] = "Retain";
        var created = (await env.Controller.CreateSnapshotAsync(request)).Snapshot;
        await WaitReadyAsync(env, created.SnapshotId);

        await env.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = created.SnapshotId });

        Assert.Empty(env.Simulator.Snapshots());
        Assert.Equal(created.SnapshotId, Assert.Single(env.Simulator.Snapshots(West)).Tags["CSICopyOfSnapshot"]);
    }

    [Fact]
    public async Task A_failing_copy_fails_the_status_check_with_the_reason_and_counts_in_the_metrics()
    {
        await using var env = await StartAsync("aws-copy-fail");
        var failures = new List<(string Region, string Reason)>();
        using var listener = ListenForCopyFailures(env, failures);
        var volume = (await env.Controller.CreateVolumeAsync(Create("pvc-fail"))).Volume;
        var request = new CreateSnapshotRequest { Name = "snap-fail", SourceVolumeId = volume.VolumeId };
        request.Parameters["copySnapshotToRegions"] = West;
        // A key of another region: EC2 refuses the copy.
        request.Parameters["copySnapshotKmsKeyId_" + West] = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        var created = (await env.Controller.CreateSnapshotAsync(request)).Snapshot;

        var failed = await Testing.Eventually.ValueAsync(async () =>
        {
            try
            {
                await env.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = created.SnapshotId });
                return null;
            }
            catch (RpcException ex)
            {
                return ex;
            }
        }, "the status check to report the failed copy");

        Assert.Equal(StatusCode.Internal, failed.StatusCode);
        Assert.Contains($"copy to {West}", failed.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("not in the destination region", failed.Status.Detail, StringComparison.Ordinal);
        lock (failures)
        {
            Assert.Contains(failures, f => f.Region == West);
        }
        Assert.Empty(env.Simulator.Snapshots(West));
        // The source is still deletable.
        await env.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = created.SnapshotId });
        Assert.Empty(env.Simulator.Snapshots());
    }

    [Theory]
    [InlineData("copySnapshotToRegions", "us-east-1", "is the region the snapshot is taken in")]
    [InlineData("copySnapshotToRegions", "mars-1", "is not an AWS region name")]
    [InlineData("copySnapshotEncrypted", "true", "needs copySnapshotToRegions")]
    [InlineData("copySnapshotKmsKeyId_eu-west-1", "alias/dr", "is not in copySnapshotToRegions")]
    [InlineData("copySnapshotDeletionPolicy", "Keep", "must be Delete or Retain")]
    public async Task Bad_copy_parameters_are_invalid_arguments_that_say_why(string key, string value, string why)
    {
        await using var env = await StartAsync("aws-copy-bad");
        var volume = (await env.Controller.CreateVolumeAsync(Create("pvc-bad"))).Volume;
        var request = new CreateSnapshotRequest { Name = "snap-bad", SourceVolumeId = volume.VolumeId };
        if (key != "copySnapshotToRegions" && key != "copySnapshotEncrypted")
        {
            request.Parameters["copySnapshotToRegions"] = West;
        }
        request.Parameters[key] = value;

        var refused = await AssertFailsWith(StatusCode.InvalidArgument, () => env.Controller.CreateSnapshotAsync(request));

        Assert.Contains(why, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(env.Simulator.Snapshots());
    }

    private static Task<AwsEnvironment> StartAsync(string name) =>
        AwsEnvironment.StartAsync(name, driver: c => c.Aws.RegionEndpoints = new Dictionary<string, string>
        {
            [West] = c.Aws.Ec2Endpoint!,
            [Europe] = c.Aws.Ec2Endpoint!,
        });

    private static async Task<Snapshot> WaitReadyAsync(AwsEnvironment env, string snapshotId) =>
        await Testing.Eventually.ValueAsync(async () =>
        {
            var listed = await env.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { SnapshotId = snapshotId });
            return listed.Entries.Single().Snapshot is { ReadyToUse: true } snapshot ? snapshot : null;
        }, $"snapshot {snapshotId} and its copies to be ready");

    private static MeterListener ListenForCopyFailures(AwsEnvironment env, List<(string, string)> failures)
    {
        var meter = env.Driver.Services.GetRequiredService<DriverMetrics>().Meter;
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == "snapshot_copy_failures")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? region = null, reason = null;
            foreach (var tag in tags)
            {
                region = tag.Key == "region" ? tag.Value as string : region;
                reason = tag.Key == "reason" ? tag.Value as string : reason;
            }
            lock (failures)
            {
                failures.Add((region ?? "", reason ?? ""));
            }
        });
        listener.Start();
        return listener;
    }
}
