using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsRequests;
using Row = CsiDriver.Testing.RefusedCall<CsiDriver.Cloud.Aws.Tests.EndToEnd.AwsBadRequestFixture>;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>
/// Hostile input to the aws controller for the classes of issue 9 this suite owns: numeric StorageClass parameters
/// that are not exactly a number, sizes no EBS volume can have, reserved tag keys in user tags, input long enough to
/// break an echoing error. Each row: the exact status code, a short message, and no change at all in EC2.
/// </summary>
public sealed class AwsHostileInputTests(AwsBadRequestFixture fixture) : IClassFixture<AwsBadRequestFixture>
{
    private const long PiB = 1L << 50;

    private static readonly string TenKb = new('x', 10 * 1024);

    private static CreateVolumeRequest With(params (string Key, string Value)[] parameters)
    {
        var request = Create("hostile-new");
        foreach (var (key, value) in parameters)
        {
            request.Parameters[key] = value;
        }
        return request;
    }

    private static CreateVolumeRequest Gp3(string key, string value) => With((key, value));

    private static CreateVolumeRequest Tag(string specification) => With(("tagSpecification_1", specification));

    private static ControllerModifyVolumeRequest ModifyTag(string volumeId, string specification) =>
        new() { VolumeId = volumeId, MutableParameters = { ["tagSpecification_1"] = specification } };

    private static readonly RefusedCallTable<AwsBadRequestFixture> Cases = new()
    {
        // Numeric StorageClass parameters: plain digits only, no 32-bit wrap.
        ["iops with a trailing NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "4000\0"))),
        ["iops with a leading blank"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", " 4000"))),
        ["iops with a trailing blank"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "4000 "))),
        ["iops with a plus sign"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "+4000"))),
        ["iops negative"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "-4000"))),
        ["iops with a leading zero"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "04000"))),
        ["iops in exponent form"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "4e3"))),
        ["iops 2^32+4000 (4000 once wrapped to 32 bits)"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "4294971296"))),
        ["iops beyond 64 bits"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", "99999999999999999999"))),
        ["iops empty"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", ""))),
        ["throughput with a trailing newline"] = Row.Of("numeric", StatusCode.InvalidArgument, "throughput", f => f.Controller.CreateVolumeAsync(Gp3("throughput", "250\n"))),
        ["throughput 2^32+250"] = Row.Of("numeric", StatusCode.InvalidArgument, "throughput", f => f.Controller.CreateVolumeAsync(Gp3("throughput", "4294967546"))),
        ["throughput in non-ASCII digits"] = Row.Of("numeric", StatusCode.InvalidArgument, "throughput", f => f.Controller.CreateVolumeAsync(Gp3("throughput", "٢٥٠"))),
        ["iopsPerGB 2^32+50"] = Row.Of("numeric", StatusCode.InvalidArgument, "iopsPerGB", f => f.Controller.CreateVolumeAsync(With(("type", "io2"), ("iopsPerGB", "4294967346")))),
        ["iopsPerGB with a decimal point"] = Row.Of("numeric", StatusCode.InvalidArgument, "iopsPerGB", f => f.Controller.CreateVolumeAsync(With(("type", "io2"), ("iopsPerGB", "50.0")))),
        ["encrypted with a trailing NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "encrypted", f => f.Controller.CreateVolumeAsync(Gp3("encrypted", "true\0"))),
        ["allowAutoIOPSPerGBIncrease with blanks"] = Row.Of("numeric", StatusCode.InvalidArgument, "allowAutoIOPSPerGBIncrease", f => f.Controller.CreateVolumeAsync(Gp3("allowAutoIOPSPerGBIncrease", " true "))),
        ["blockSize 2^32+1024"] = Row.Of("numeric", StatusCode.InvalidArgument, "blockSize", f => f.Controller.CreateVolumeAsync(Gp3("blockSize", "4294968320"))),
        ["inodeSize 4096 on ext4 without a block size"] = Row.Of("numeric", StatusCode.InvalidArgument, "inodeSize", f => f.Controller.CreateVolumeAsync(Gp3("inodeSize", "4096"))),
        ["ext4ClusterSize 2^32+4096"] = Row.Of("numeric", StatusCode.InvalidArgument, "ext4ClusterSize", f => f.Controller.CreateVolumeAsync(With(("ext4BigAlloc", "true"), ("ext4ClusterSize", "4294971392")))),
        ["ControllerModifyVolume iops 2^32+4000"] = Row.Of("numeric", StatusCode.InvalidArgument, "iops", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["iops"] = "4294971296" } })),
        ["ControllerModifyVolume throughput with a NUL"] = Row.Of("numeric", StatusCode.InvalidArgument, "throughput", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["throughput"] = "250\0" } })),

        // Capacity beyond what EBS holds: OUT_OF_RANGE, before EC2 is asked.
        ["CreateVolume gp3 of 16 TiB + 1 GiB"] = Row.Of("capacity", StatusCode.OutOfRange, "16384 GiB", f => f.Controller.CreateVolumeAsync(Create("hostile-new", 16385 * GiB))),
        ["CreateVolume io2 of 70000 GiB"] = Row.Of("capacity", StatusCode.OutOfRange, "65536 GiB", f => f.Controller.CreateVolumeAsync(With(("type", "io2"), ("iops", "3000")).WithSize(70_000 * GiB))),
        ["CreateVolume of 1 PiB"] = Row.Of("capacity", StatusCode.OutOfRange, "maximum", f => f.Controller.CreateVolumeAsync(Create("hostile-new", PiB))),
        ["CreateVolume of 2^62 bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "maximum", f => f.Controller.CreateVolumeAsync(Create("hostile-new", 1L << 62))),
        ["CreateVolume of long.MaxValue bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "maximum", f => f.Controller.CreateVolumeAsync(Create("hostile-new", long.MaxValue))),
        ["ControllerExpandVolume to 1 PiB"] = Row.Of("capacity", StatusCode.OutOfRange, "maximum", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, PiB))),
        ["ControllerExpandVolume to 2^62 bytes"] = Row.Of("capacity", StatusCode.OutOfRange, "maximum", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 1L << 62))),
        ["ControllerExpandVolume gp3 past 16384 GiB"] = Row.Of("capacity", StatusCode.OutOfRange, "16384 GiB", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 20_000 * GiB))),

        // Reserved tag keys: the driver's own, the cluster's, AWS's, in any casing, at create, modify and snapshot.
        ["tagSpecification setting CSIVolumeName"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("CSIVolumeName=pvc-someone-else"))),
        ["tagSpecification setting csivolumename"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("csivolumename=pvc-someone-else"))),
        ["tagSpecification setting CSIVolumeName through a template"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(With(("tagSpecification_1", "CSIVolumeName={{ .PVCName }}"), ("csi.storage.k8s.io/pvc/name", "pvc-x")))),
        ["tagSpecification setting CSIVolumeSnapshotName"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("CSIVolumeSnapshotName=snap"))),
        ["tagSpecification setting CSIVolumeGroupSnapshotId"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("CSIVolumeGroupSnapshotId=groupsnapshot-x"))),
        ["tagSpecification setting CSICopyOfSnapshot"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("CSICopyOfSnapshot=snap-0123"))),
        ["tagSpecification setting the managed-by tag"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("csi.csidriver.io/managed-by=other"))),
        ["tagSpecification setting the client-token attempt"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("csi.csidriver.io/client-token-attempt=7"))),
        ["tagSpecification setting ebs.csi.aws.com/cluster"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("ebs.csi.aws.com/cluster=true"))),
        ["tagSpecification setting kubernetes.io/cluster/*"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("kubernetes.io/cluster/prod=owned"))),
        ["tagSpecification setting a created-for tag"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("kubernetes.io/created-for/pvc/name=forged"))),
        ["tagSpecification setting an aws: tag"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("AWS:cloudformation:stack-name=x"))),
        ["tagSpecification setting a reserved key with blanks around it"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(Tag("  CSIVolumeName  =x"))),
        ["mutable tagSpecification at CreateVolume setting CSIVolumeName"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest(Create("hostile-new")) { MutableParameters = { ["tagSpecification_1"] = "CSIVolumeName=x" } })),
        ["ControllerModifyVolume setting CSIVolumeName"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.ControllerModifyVolumeAsync(ModifyTag(f.FreeVolumeId, "CSIVolumeName=pvc-someone-else"))),
        ["ControllerModifyVolume setting kubernetes.io/cluster/*"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.ControllerModifyVolumeAsync(ModifyTag(f.FreeVolumeId, "kubernetes.io/cluster/prod=owned"))),
        ["CreateSnapshot tagSpecification setting CSIVolumeSnapshotName"] = Row.Of("reserved-tag", StatusCode.InvalidArgument, "reserved", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "hostile-snap", SourceVolumeId = f.FreeVolumeId, Parameters = { ["tagSpecification_1"] = "CSIVolumeSnapshotName=other" } })),

        // Echoed input never comes back whole.
        ["ListVolumes with a 10 KB starting_token"] = Row.Of("echo", StatusCode.Aborted, "starting_token", f => f.Controller.ListVolumesAsync(new ListVolumesRequest { StartingToken = TenKb })),
        ["ListSnapshots with a 10 KB starting_token"] = Row.Of("echo", StatusCode.Aborted, "starting_token", f => f.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = TenKb })),
        ["CreateVolume with a 10 KB parameter key"] = Row.Of("echo", StatusCode.InvalidArgument, "not supported", f => f.Controller.CreateVolumeAsync(Gp3(TenKb, "1"))),
        ["CreateVolume with a 10 KB type"] = Row.Of("echo", StatusCode.InvalidArgument, "type", f => f.Controller.CreateVolumeAsync(Gp3("type", TenKb))),
        ["CreateVolume with a 10 KB iops"] = Row.Of("echo", StatusCode.InvalidArgument, "iops", f => f.Controller.CreateVolumeAsync(Gp3("iops", TenKb))),
        ["CreateVolume with a 10 KB tag specification"] = Row.Of("echo", StatusCode.InvalidArgument, "tag specification", f => f.Controller.CreateVolumeAsync(Tag(TenKb))),
        ["CreateVolume with a 10 KB fsType"] = Row.Of("echo", StatusCode.InvalidArgument, "fs", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest(Create("hostile-new", capability: Mount(fsType: ""))) { Parameters = { ["csi.storage.k8s.io/fstype"] = TenKb } })),
        ["CreateVolume with a 10 KB snapshot parameter key"] = Row.Of("echo", StatusCode.InvalidArgument, "not supported", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "hostile-snap", SourceVolumeId = f.FreeVolumeId, Parameters = { [TenKb] = "1" } })),
        ["ControllerModifyVolume with a 10 KB mutable key"] = Row.Of("echo", StatusCode.InvalidArgument, "mutable parameter", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { [TenKb] = "1" } })),
        ["ControllerGetVolume with a 10 KB volume_id"] = Row.Of("echo", StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = TenKb })),
    };

    public static TheoryData<string> CaseNames() => Cases.Names();

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Hostile_input_gets_its_exact_code_a_short_message_and_leaves_EC2_alone(string name)
    {
        var @case = Cases[name];
        var simulator = fixture.Environment.Simulator;
        var mutatingBefore = MutatingCalls(simulator);
        var before = Inventory(simulator);

        await @case.AssertRefusedAsync(fixture);

        Assert.Equal(mutatingBefore, MutatingCalls(simulator));
        Assert.Equal(before, Inventory(simulator));
    }

    [Fact]
    public void Every_class_has_cases()
    {
        var perClass = Cases.CountByClass();
        Assert.True(perClass["numeric"] >= 20);
        Assert.True(perClass["capacity"] >= 8);
        Assert.True(perClass["reserved-tag"] >= 14);
        Assert.True(perClass["echo"] >= 10);
    }

    [Theory]
    [InlineData("CSIVolumeName")]
    [InlineData("kubernetes.io/cluster/prod")]
    [InlineData("aws:owner")]
    [InlineData("csi.csidriver.io/managed-by")]
    public void A_reserved_key_in_extra_tags_stops_the_driver_at_start(string key)
    {
        var options = new AwsBackendOptions { ExtraTags = new Dictionary<string, string> { [key] = "x", ["team"] = "storage" } };

        var error = Assert.Single(options.Validate());

        Assert.Contains(key, error, StringComparison.Ordinal);
        Assert.Contains("reserved", error, StringComparison.Ordinal);
    }

    private static long MutatingCalls(Testing.Aws.Ec2Simulator simulator) =>
        new[] { "CreateVolume", "CopyVolumes", "DeleteVolume", "ModifyVolume", "CreateTags", "DeleteTags", "CreateSnapshot", "DeleteSnapshot", "AttachVolume", "DetachVolume" }
            .Sum(simulator.Statistics.Calls);

    private static string Inventory(Testing.Aws.Ec2Simulator simulator) =>
        string.Join('\n', simulator.Volumes().Select(v => $"{v.VolumeId}:{v.Size}:{v.VolumeType}:{v.State}:{string.Join(',', v.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => t.Key + "=" + t.Value))}")
            .Concat(simulator.Snapshots().Select(s => s.SnapshotId)));
}

internal static class CreateVolumeRequestExtensions
{
    public static CreateVolumeRequest WithSize(this CreateVolumeRequest request, long requiredBytes)
    {
        request.CapacityRange = new CapacityRange { RequiredBytes = requiredBytes };
        return request;
    }
}
