using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>One aws controller for the whole table, with a published volume, a free volume and a snapshot to aim at.</summary>
public sealed class AwsBadRequestFixture : IAsyncLifetime
{
    internal AwsEnvironment Environment { get; private set; } = null!;

    public Csi.V1.Controller.ControllerClient Controller => Environment.Controller;

    public string PublishedVolumeId { get; private set; } = "";

    public string FreeVolumeId { get; private set; } = "";

    public string SnapshotId { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Environment = await AwsEnvironment.StartAsync("aws-bad");
        PublishedVolumeId = (await Controller.CreateVolumeAsync(Create("bad-published"))).Volume.VolumeId;
        FreeVolumeId = (await Controller.CreateVolumeAsync(Create("bad-free"))).Volume.VolumeId;
        await Controller.ControllerPublishVolumeAsync(Publish(PublishedVolumeId));
        SnapshotId = (await Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = FreeVolumeId })).Snapshot.SnapshotId;
    }

    public async Task DisposeAsync() => await Environment.DisposeAsync();
}

/// <summary>
/// The local backend's bad-request table, against the aws backend: every Controller RPC with malformed or
/// impossible requests fails with the status the CSI spec asks for and a message naming the problem,
/// and nothing is left half-done in EC2.
/// </summary>
public sealed class AwsBadRequestTests(AwsBadRequestFixture fixture) : IClassFixture<AwsBadRequestFixture>
{
    private delegate Task Call(Csi.V1.Controller.ControllerClient client, AwsBadRequestFixture f);

    private sealed record Case(StatusCode Code, string MessagePart, Call Run);

    private static Case C<T>(StatusCode code, string messagePart, Func<Csi.V1.Controller.ControllerClient, AwsBadRequestFixture, AsyncUnaryCall<T>> call) =>
        new(code, messagePart, async (client, f) => await call(client, f));

    private static CreateVolumeRequest WithParameter(string key, string value)
    {
        var request = Create("bad-param");
        request.Parameters[key] = value;
        return request;
    }

    private static CreateVolumeRequest WithCapability(VolumeCapability capability) => Create("bad-cap", capability: capability);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // CreateVolume: shape (checked by the gRPC surface).
        ["CreateVolume without name"] = C(StatusCode.InvalidArgument, "name", (c, _) => c.CreateVolumeAsync(Create(""))),
        ["CreateVolume with a name over 128 bytes"] = C(StatusCode.InvalidArgument, "name", (c, _) => c.CreateVolumeAsync(Create(new string('n', 129)))),
        ["CreateVolume without capabilities"] = C(StatusCode.InvalidArgument, "volume_capabilities", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-nocap" })),
        ["CreateVolume capability without access mode"] = C(StatusCode.InvalidArgument, "access_mode", (c, _) => c.CreateVolumeAsync(WithCapability(new VolumeCapability { Mount = new() }))),
        ["CreateVolume with an unsupported fs_type"] = C(StatusCode.InvalidArgument, "ntfs", (c, _) => c.CreateVolumeAsync(WithCapability(Mount(fsType: "ntfs")))),
        ["CreateVolume mount with multi-node writers"] = C(StatusCode.InvalidArgument, "MultiNodeMultiWriter", (c, _) => c.CreateVolumeAsync(WithCapability(Mount(Mode.MultiNodeMultiWriter)))),
        ["CreateVolume with negative required_bytes"] = C(StatusCode.InvalidArgument, "required_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-neg", -1))),
        ["CreateVolume with limit below required"] = C(StatusCode.InvalidArgument, "limit_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-range", 10 * GiB, 5 * GiB))),
        ["CreateVolume from a snapshot with an empty id"] = C(StatusCode.InvalidArgument, "snapshot_id", (c, _) => c.CreateVolumeAsync(FromSnapshot("bad-src", ""))),
        // CreateVolume: what only the aws backend knows.
        ["CreateVolume with an unknown parameter"] = C(StatusCode.InvalidArgument, "color", (c, _) => c.CreateVolumeAsync(WithParameter("color", "blue"))),
        ["CreateVolume with an unknown volume type"] = C(StatusCode.InvalidArgument, "gp9", (c, _) => c.CreateVolumeAsync(WithParameter("type", "gp9"))),
        ["CreateVolume with iops that do not parse"] = C(StatusCode.InvalidArgument, "iops", (c, _) => c.CreateVolumeAsync(WithParameter("iops", "fast"))),
        ["CreateVolume with iops on gp2"] = C(StatusCode.InvalidArgument, "iops", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-gp2", VolumeCapabilities = { Mount() }, Parameters = { ["type"] = "gp2", ["iops"] = "3000" } })),
        ["CreateVolume with a kms key but no encryption"] = C(StatusCode.InvalidArgument, "kmsKeyId", (c, _) => c.CreateVolumeAsync(WithParameter("kmsKeyId", "alias/x"))),
        ["CreateVolume with an encrypted flag that does not parse"] = C(StatusCode.InvalidArgument, "encrypted", (c, _) => c.CreateVolumeAsync(WithParameter("encrypted", "maybe"))),
        ["CreateVolume with a reserved tag key"] = C(StatusCode.InvalidArgument, "aws:", (c, _) => c.CreateVolumeAsync(WithParameter("tagSpecification_1", "aws:owner=me"))),
        ["CreateVolume multi-node writers on gp3 block"] = C(StatusCode.InvalidArgument, "io2", (c, _) => c.CreateVolumeAsync(WithCapability(Block(Mode.MultiNodeMultiWriter)))),
        ["CreateVolume multi-node readers"] = C(StatusCode.InvalidArgument, "not supported", (c, _) => c.CreateVolumeAsync(WithCapability(Mount(Mode.MultiNodeReaderOnly)))),
        ["CreateVolume from a missing snapshot"] = C(StatusCode.NotFound, MissingSnapshot, (c, _) => c.CreateVolumeAsync(FromSnapshot("bad-src", MissingSnapshot))),
        ["CreateVolume from a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.CreateVolumeAsync(FromVolume("bad-src", MissingVolume))),
        ["CreateVolume with a limit below one GiB"] = C(StatusCode.OutOfRange, "limit_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-tiny", 1, 1000))),
        ["CreateVolume above the type's maximum"] = C(StatusCode.OutOfRange, "16384", (c, _) => c.CreateVolumeAsync(Create("bad-huge", 16385 * GiB))),
        ["CreateVolume from a snapshot bigger than the limit"] = C(StatusCode.OutOfRange, "limit_bytes", (c, f) => c.CreateVolumeAsync(FromSnapshot("bad-restore", f.SnapshotId, 1 * GiB / 2, 1 * GiB / 2))),
        ["CreateVolume in a zone EC2 does not have"] = C(StatusCode.InvalidArgument, "us-east-1z", (c, _) => c.CreateVolumeAsync(Create("bad-zone", zone: "us-east-1z"))),
        ["CreateVolume with the name of another volume but another size"] = C(StatusCode.AlreadyExists, "bad-free", (c, _) => c.CreateVolumeAsync(Create("bad-free", 64 * GiB))),

        // DeleteVolume
        ["DeleteVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.DeleteVolumeAsync(new DeleteVolumeRequest())),
        ["DeleteVolume of a published volume"] = C(StatusCode.FailedPrecondition, "attached", (c, f) => c.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = f.PublishedVolumeId })),

        // ControllerPublishVolume
        ["ControllerPublishVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerPublishVolumeAsync(Publish(""))),
        ["ControllerPublishVolume without node_id"] = C(StatusCode.InvalidArgument, "node_id", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, ""))),
        ["ControllerPublishVolume without capability"] = C(StatusCode.InvalidArgument, "volume_capability", (c, f) => c.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest { VolumeId = f.FreeVolumeId, NodeId = NodeA })),
        ["ControllerPublishVolume of a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.ControllerPublishVolumeAsync(Publish(MissingVolume))),
        ["ControllerPublishVolume to a missing node"] = C(StatusCode.NotFound, "i-00000000000000000", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, "i-00000000000000000"))),
        ["ControllerPublishVolume to a node in another zone"] = C(StatusCode.FailedPrecondition, "us-east-1b", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, NodeB))),
        ["ControllerPublishVolume of a volume attached to another node"] = C(StatusCode.FailedPrecondition, NodeA, (c, f) => c.ControllerPublishVolumeAsync(Publish(f.PublishedVolumeId, NodeA2))),

        // ControllerUnpublishVolume
        ["ControllerUnpublishVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { NodeId = NodeA })),

        // ValidateVolumeCapabilities
        ["ValidateVolumeCapabilities without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeCapabilities = { Mount() } })),
        ["ValidateVolumeCapabilities without capabilities"] = C(StatusCode.InvalidArgument, "volume_capabilities", (c, f) => c.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = f.FreeVolumeId })),
        ["ValidateVolumeCapabilities of a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = MissingVolume, VolumeCapabilities = { Mount() } })),

        // ListVolumes
        ["ListVolumes with negative max_entries"] = C(StatusCode.InvalidArgument, "max_entries", (c, _) => c.ListVolumesAsync(new ListVolumesRequest { MaxEntries = -1 })),
        ["ListVolumes with a token that does not parse"] = C(StatusCode.Aborted, "token", (c, _) => c.ListVolumesAsync(new ListVolumesRequest { StartingToken = "garbage" })),

        // GetCapacity
        ["GetCapacity is not offered"] = C(StatusCode.Unimplemented, "GetCapacity", (c, _) => c.GetCapacityAsync(new GetCapacityRequest())),

        // CreateSnapshot
        ["CreateSnapshot without name"] = C(StatusCode.InvalidArgument, "name", (c, f) => c.CreateSnapshotAsync(new CreateSnapshotRequest { SourceVolumeId = f.FreeVolumeId })),
        ["CreateSnapshot without source_volume_id"] = C(StatusCode.InvalidArgument, "source_volume_id", (c, _) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-2" })),
        ["CreateSnapshot of a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-3", SourceVolumeId = MissingVolume })),
        ["CreateSnapshot with an unknown parameter"] = C(StatusCode.InvalidArgument, "retention", (c, f) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-4", SourceVolumeId = f.FreeVolumeId, Parameters = { ["retention"] = "1d" } })),
        ["CreateSnapshot with the name of another volume's snapshot"] = C(StatusCode.AlreadyExists, "bad-snap", (c, f) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = f.PublishedVolumeId })),

        // DeleteSnapshot
        ["DeleteSnapshot without snapshot_id"] = C(StatusCode.InvalidArgument, "snapshot_id", (c, _) => c.DeleteSnapshotAsync(new DeleteSnapshotRequest())),

        // ListSnapshots
        ["ListSnapshots with negative max_entries"] = C(StatusCode.InvalidArgument, "max_entries", (c, _) => c.ListSnapshotsAsync(new ListSnapshotsRequest { MaxEntries = -5 })),
        ["ListSnapshots with a token that does not parse"] = C(StatusCode.Aborted, "token", (c, _) => c.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "-1" })),

        // GetSnapshot
        ["GetSnapshot without snapshot_id"] = C(StatusCode.InvalidArgument, "snapshot_id", (c, _) => c.GetSnapshotAsync(new GetSnapshotRequest())),
        ["GetSnapshot of a missing snapshot"] = C(StatusCode.NotFound, MissingSnapshot, (c, _) => c.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = MissingSnapshot })),

        // ControllerExpandVolume
        ["ControllerExpandVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerExpandVolumeAsync(Expand("", 2 * GiB))),
        ["ControllerExpandVolume without capacity_range"] = C(StatusCode.InvalidArgument, "capacity_range", (c, f) => c.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest { VolumeId = f.FreeVolumeId })),
        ["ControllerExpandVolume with limit below required"] = C(StatusCode.InvalidArgument, "limit_bytes", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 4 * GiB, 2 * GiB))),
        ["ControllerExpandVolume of a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.ControllerExpandVolumeAsync(Expand(MissingVolume, 2 * GiB))),
        ["ControllerExpandVolume beyond its limit once rounded to GiB"] = C(StatusCode.OutOfRange, "limit", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 2 * GiB + 1, 2 * GiB + 1))),

        // ControllerGetVolume
        ["ControllerGetVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerGetVolumeAsync(new ControllerGetVolumeRequest())),
        ["ControllerGetVolume of a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = MissingVolume })),

        // ControllerModifyVolume
        ["ControllerModifyVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { MutableParameters = { ["iops"] = "4000" } })),
        ["ControllerModifyVolume of a missing volume without mutable_parameters"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = MissingVolume })),
        ["ControllerModifyVolume of a missing volume"] = C(StatusCode.NotFound, MissingVolume, (c, _) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = MissingVolume, MutableParameters = { ["iops"] = "4000" } })),
        ["ControllerModifyVolume with an unknown key"] = C(StatusCode.InvalidArgument, "color", (c, f) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["color"] = "red" } })),
        ["ControllerModifyVolume to an unknown type"] = C(StatusCode.InvalidArgument, "gp9", (c, f) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["type"] = "gp9" } })),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_request_fails_with_the_spec_status_and_names_the_problem(string name)
    {
        var @case = Cases[name];
        var volumesBefore = fixture.Environment.Simulator.Volumes().Select(v => v.VolumeId).ToHashSet();

        var ex = await Assert.ThrowsAsync<RpcException>(() => @case.Run(fixture.Controller, fixture));

        Assert.True(@case.Code == ex.StatusCode, $"{name}: expected {@case.Code}, got {ex.StatusCode}: {ex.Status.Detail}");
        Assert.Contains(@case.MessagePart, ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
        // Nothing half-done: a refused request made no volume.
        Assert.Equal(volumesBefore, fixture.Environment.Simulator.Volumes().Select(v => v.VolumeId).ToHashSet());
    }

    [Fact]
    public void Every_controller_rpc_has_a_bad_request_case()
    {
        var rpcs = Csi.V1.Controller.Descriptor.Methods.Select(m => m.Name)
            .Where(m => m is not ("ControllerGetCapabilities" or "CreateVolumeGroupSnapshot" or "DeleteVolumeGroupSnapshot" or "GetVolumeGroupSnapshot" or "GroupControllerGetCapabilities"));

        foreach (var rpc in rpcs)
        {
            Assert.Contains(Cases.Keys, k => k.StartsWith(rpc + " ", StringComparison.Ordinal));
        }
    }
}
