using System.Security.Cryptography;
using Csi.V1;
using CsiDriver.Driver.Tests.Lifecycle;
using CsiDriver.Testing;
using Grpc.Core;
using Xunit.Abstractions;
using static CsiDriver.Testing.RawBytes;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>
/// Hostile or confused node requests (issue 9), one row per attack, against the real driver over its unix socket on
/// the local backend with real loop devices, ext4 and xfs. The driver's kubelet directory is a scratch directory with
/// kubelet's layout and no extra allowed root, so confinement is the production rule. Every row asserts the status
/// code and a message naming the problem, and that nothing changed on the host: the mounts below the scratch
/// directory and at the system paths attacked, and the contents of every file an attack aims at.
/// </summary>
public sealed class HostileNodeInputTests(ITestOutputHelper output)
{
    private const string NodeId = "hostile-node";
    private const long VolumeBytes = 512L << 20;
    private const long DataOffset = 100L << 20;
    private const string DriverName = "block.csi.csidriver.io";

    private static readonly string[] WatchedSystemPaths = ["/", "/etc", "/etc/passwd", "/tmp", "/root", "/proc", "/proc/self"];

    private sealed record Attack(string Class, string Name, StatusCode Expected, string MessagePart, Func<Task> Call);

    [Fact]
    public async Task Every_hostile_node_request_gets_its_code_and_changes_nothing_on_the_host()
    {
        using var dir = new TestDirectory("hostile");
        var configuration = RunningDriver.LocalConfiguration(dir, nodeId: NodeId);
        configuration.Driver.KubeletDir = dir.Path("kubelet");
        configuration.Driver.AllowedPathRoots = [];
        await using var driver = await RunningDriver.StartAsync(configuration);
        var steps = new VolumeSteps(driver.Controller, driver.Node, NodeId);
        var node = driver.Node;
        var kubelet = new KubeletPaths(dir.Path("kubelet"));

        // Volume A (ext4) and B (xfs): staged and published where kubelet would put them, each with a file.
        var ext4 = VolumeSteps.Mount("ext4");
        var xfs = VolumeSteps.Mount("xfs");
        var block = VolumeSteps.Block();
        var a = await steps.CreateAsync("pvc-hostile-a", VolumeBytes, ext4);
        var b = await steps.CreateAsync("pvc-hostile-b", VolumeBytes, xfs);
        var contextA = await steps.AttachAsync(a.VolumeId, ext4);
        var contextB = await steps.AttachAsync(b.VolumeId, xfs);
        await steps.StageAsync(a, contextA, kubelet.Staging("a"), ext4);
        await steps.PublishAsync(a, contextA, kubelet.Staging("a"), kubelet.Target("a"), ext4);
        await steps.StageAsync(b, contextB, kubelet.Staging("b"), xfs);
        await steps.PublishAsync(b, contextB, kubelet.Staging("b"), kubelet.Target("b"), xfs);
        await File.WriteAllTextAsync(Path.Combine(kubelet.Target("a"), "a.txt"), "volume a");
        await File.WriteAllTextAsync(Path.Combine(kubelet.Target("b"), "b.txt"), "volume b");

        // Volume C: a pod had it as a raw device and wrote 256 KiB at 100 MiB. The first and last MiB stay zero, and on
        // a 512 MiB device this lies between two of the probe's samples (about every 2 MiB): only the node's record
        // of the raw publish can refuse to format it.
        // Volume D: 1 MiB at 100 MiB written by something other than this node: no record, the probe's samples find it.
        var c = await steps.CreateAsync("pvc-hostile-c", VolumeBytes, block);
        var d = await steps.CreateAsync("pvc-hostile-d", VolumeBytes, block);
        var contextC = await steps.AttachAsync(c.VolumeId, block);
        var contextD = await steps.AttachAsync(d.VolumeId, block);
        var rawTarget = kubelet.BlockTarget("c");
        await steps.PublishAsync(c, contextC, kubelet.BlockStaging("c"), rawTarget, block);
        WriteAt(rawTarget, DataOffset, RandomNumberGenerator.GetBytes(256 << 10));
        await node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = c.VolumeId, TargetPath = rawTarget });
        var deviceC = DeviceOf(contextC);
        var deviceD = DeviceOf(contextD);
        WriteAt(deviceD, DataOffset, RandomNumberGenerator.GetBytes(1 << 20));
        LocalLifecycleTests.Sync();

        // Things that are not the volumes': a tmpfs in kubelet's tree, "host" files outside it, links to them,
        // and an empty directory and file kubelet (not the driver) made.
        var hostEtc = Directory.CreateDirectory(dir.Path("host", "etc")).FullName;
        var hostSecret = Path.Combine(hostEtc, "secret");
        await File.WriteAllTextAsync(hostSecret, "host secret");
        var hostPasswd = dir.Path("host", "passwd");
        await File.WriteAllTextAsync(hostPasswd, "root:x:0:0::/root:/bin/sh\n");
        var foreign = kubelet.Target("foreign");
        Directory.CreateDirectory(foreign);
        Shell.Run("mount", "-t", "tmpfs", "-o", "size=1m", "csi-hostile-tmpfs", foreign);
        await File.WriteAllTextAsync(Path.Combine(foreign, "keep.txt"), "keep");
        var linkToEtc = kubelet.Target("evil");
        Directory.CreateDirectory(Path.GetDirectoryName(linkToEtc)!);
        File.CreateSymbolicLink(linkToEtc, hostEtc);
        var podLinkedAway = Path.Combine(kubelet.Pods, "linked");
        File.CreateSymbolicLink(podLinkedAway, hostEtc);
        var blockLinkToPasswd = kubelet.BlockTarget("evil");
        Directory.CreateDirectory(Path.GetDirectoryName(blockLinkToPasswd)!);
        File.CreateSymbolicLink(blockLinkToPasswd, hostPasswd);
        var kubeletMadeDir = Directory.CreateDirectory(kubelet.Target("kubelet-made")).FullName;
        var kubeletMadeFile = kubelet.BlockTarget("kubelet-made");
        Directory.CreateDirectory(Path.GetDirectoryName(kubeletMadeFile)!);
        await File.WriteAllBytesAsync(kubeletMadeFile, []);
        var neverUsedDir = Directory.CreateDirectory(kubelet.Target("never-used")).FullName;

        string[] watchedFiles =
        [
            "/etc/passwd", hostSecret, hostPasswd, Path.Combine(foreign, "keep.txt"),
            Path.Combine(kubelet.Target("a"), "a.txt"), Path.Combine(kubelet.Target("b"), "b.txt"),
        ];
        string[] watchedPaths = [kubeletMadeDir, kubeletMadeFile, neverUsedDir, linkToEtc, podLinkedAway, blockLinkToPasswd];
        string[] watchedDevices = [deviceC, deviceD];
        string[] watchedFilesystems = [kubelet.Target("a"), kubelet.Target("b"), foreign];

        List<string> Snapshot() => HostSnapshot(dir.Root, watchedFiles, watchedPaths, watchedDevices, watchedFilesystems);

        Task Stage(Volume volume, IDictionary<string, string> context, string path, VolumeCapability capability) =>
            steps.StageAsync(volume, context, path, capability);
        Task Publish(Volume volume, IDictionary<string, string> context, string staging, string target, VolumeCapability capability) =>
            steps.PublishAsync(volume, context, staging, target, capability);
        Task Unpublish(Volume volume, string target) =>
            node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = volume.VolumeId, TargetPath = target }).ResponseAsync;
        Task Unstage(Volume volume, string staging) =>
            node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = volume.VolumeId, StagingTargetPath = staging }).ResponseAsync;
        Task Stats(Volume volume, string path) =>
            node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = volume.VolumeId, VolumePath = path }).ResponseAsync;
        Task Expand(Volume volume, string path, VolumeCapability? capability = null) =>
            node.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = volume.VolumeId, VolumePath = path, VolumeCapability = capability }).ResponseAsync;
        VolumeCapability WithFlags(params string[] flags) => VolumeSteps.Mount("ext4", flags);

        const string Paths = "paths outside the kubelet's tree";
        const string Foreign = "one volume's call on another's mount";
        const string Flags = "mount flags that change what is mounted";
        const string Data = "data without a signature";
        const string Outside = "outside the directories";
        const string Symlink = "symbolic link";
        var freshStaging = kubelet.Staging("fresh");
        var freshTarget = kubelet.Target("fresh");

        Attack[] attacks =
        [
            new(Paths, "stage at /etc", StatusCode.InvalidArgument, Outside, () => Stage(a, contextA, "/etc", ext4)),
            new(Paths, "stage at /tmp", StatusCode.InvalidArgument, Outside, () => Stage(a, contextA, "/tmp", ext4)),
            new(Paths, "stage at /root", StatusCode.InvalidArgument, Outside, () => Stage(a, contextA, "/root", ext4)),
            new(Paths, "stage at //etc", StatusCode.InvalidArgument, Outside, () => Stage(a, contextA, "//etc", ext4)),
            new(Paths, "stage at /proc/self", StatusCode.InvalidArgument, Outside, () => Stage(a, contextA, "/proc/self", ext4)),
            new(Paths, "stage at a symlink in kubelet's tree to a host directory", StatusCode.InvalidArgument, Symlink,
                () => Stage(a, contextA, linkToEtc, ext4)),
            new(Paths, "stage below a pod directory that is a symlink to a host directory", StatusCode.InvalidArgument, Outside,
                () => Stage(a, contextA, Path.Combine(podLinkedAway, "mount"), ext4)),
            new(Paths, "stage with .. climbing out of kubelet's tree", StatusCode.InvalidArgument, "..",
                () => Stage(a, contextA, kubelet.Pods + "/x/../../../../etc", ext4)),
            new(Paths, "stage in kubelet's directory but outside pods/ and plugins/kubernetes.io/csi/", StatusCode.InvalidArgument, Outside,
                () => Stage(a, contextA, Path.Combine(kubelet.Root, "plugins", DriverName, "globalmount"), ext4)),
            new(Paths, "publish a filesystem at /etc", StatusCode.InvalidArgument, Outside,
                () => Publish(a, contextA, kubelet.Staging("a"), "/etc", ext4)),
            new(Paths, "publish from a staging path of /etc", StatusCode.InvalidArgument, Outside,
                () => Publish(a, contextA, "/etc", freshTarget, ext4)),
            new(Paths, "publish a block device over /etc/passwd", StatusCode.InvalidArgument, Outside,
                () => Publish(c, contextC, kubelet.BlockStaging("c"), "/etc/passwd", block)),
            new(Paths, "publish a block device over a symlink to a host file", StatusCode.InvalidArgument, Symlink,
                () => Publish(c, contextC, kubelet.BlockStaging("c"), blockLinkToPasswd, block)),
            new(Paths, "publish at /proc/self", StatusCode.InvalidArgument, Outside,
                () => Publish(a, contextA, kubelet.Staging("a"), "/proc/self", ext4)),
            new(Paths, "unpublish /etc", StatusCode.InvalidArgument, Outside, () => Unpublish(a, "/etc")),
            new(Paths, "unpublish a symlink to a host directory", StatusCode.InvalidArgument, Symlink, () => Unpublish(a, linkToEtc)),
            new(Paths, "unstage /tmp", StatusCode.InvalidArgument, Outside, () => Unstage(a, "/tmp")),
            new(Paths, "unstage /", StatusCode.InvalidArgument, Outside, () => Unstage(a, "/")),
            new(Paths, "stats of /proc/self", StatusCode.NotFound, Outside, () => Stats(a, "/proc/self")),
            new(Paths, "stats of /", StatusCode.NotFound, Outside, () => Stats(a, "/")),
            new(Paths, "stats through a symlink to a host directory", StatusCode.NotFound, Symlink, () => Stats(a, linkToEtc)),
            new(Paths, "expand /", StatusCode.NotFound, Outside, () => Expand(a, "/")),
            new(Paths, "expand /etc/passwd as a block volume", StatusCode.NotFound, Outside, () => Expand(c, "/etc/passwd", block)),

            new(Foreign, "unpublish A at B's target", StatusCode.FailedPrecondition, "left mounted", () => Unpublish(a, kubelet.Target("b"))),
            new(Foreign, "unstage A at B's staging path", StatusCode.FailedPrecondition, "left mounted", () => Unstage(a, kubelet.Staging("b"))),
            new(Foreign, "unstage A at B's target (a bind of B)", StatusCode.FailedPrecondition, "left mounted", () => Unstage(a, kubelet.Target("b"))),
            new(Foreign, "expand A at B's xfs target", StatusCode.NotFound, "not volume", () => Expand(a, kubelet.Target("b"))),
            new(Foreign, "expand A at B's staging path", StatusCode.NotFound, "not volume", () => Expand(a, kubelet.Staging("b"))),
            new(Foreign, "stats of A at B's target", StatusCode.NotFound, "not staged or published", () => Stats(a, kubelet.Target("b"))),
            new(Foreign, "stats of A at B's staging path", StatusCode.NotFound, "not staged or published", () => Stats(a, kubelet.Staging("b"))),
            new(Foreign, "unpublish A at a tmpfs in kubelet's tree", StatusCode.FailedPrecondition, "left mounted", () => Unpublish(a, foreign)),
            new(Foreign, "unstage A at a tmpfs in kubelet's tree", StatusCode.FailedPrecondition, "left mounted", () => Unstage(a, foreign)),
            new(Foreign, "expand A at a tmpfs in kubelet's tree", StatusCode.NotFound, "not volume", () => Expand(a, foreign)),
            new(Foreign, "stats of A at a tmpfs in kubelet's tree", StatusCode.NotFound, "not staged or published", () => Stats(a, foreign)),
            new(Foreign, "stats of A at an empty directory it was never published at", StatusCode.NotFound, "not staged or published",
                () => Stats(a, neverUsedDir)),
            new(Foreign, "expand C (block) at an empty file kubelet made", StatusCode.NotFound, "block volume",
                () => Expand(c, kubeletMadeFile, block)),
            new(Foreign, "stage A at B's staging path", StatusCode.AlreadyExists, "not volume", () => Stage(a, contextA, kubelet.Staging("b"), ext4)),
            new(Foreign, "publish A at B's target", StatusCode.AlreadyExists, "not volume",
                () => Publish(a, contextA, kubelet.Staging("a"), kubelet.Target("b"), ext4)),
            new(Foreign, "publish A from B's staging path", StatusCode.FailedPrecondition, "not volume",
                () => Publish(a, contextA, kubelet.Staging("b"), freshTarget, ext4)),
            new(Foreign, "unpublish A at an empty directory the driver did not create (left in place)", StatusCode.OK, "",
                () => Unpublish(a, kubeletMadeDir)),
            new(Foreign, "unpublish C at an empty file the driver did not create (left in place)", StatusCode.OK, "",
                () => Unpublish(c, kubeletMadeFile)),

            new(Flags, "loop", StatusCode.InvalidArgument, "'loop'", () => Stage(a, contextA, freshStaging, WithFlags("loop"))),
            new(Flags, "X-mount.subdir=..", StatusCode.InvalidArgument, "X-mount.subdir", () => Stage(a, contextA, freshStaging, WithFlags("X-mount.subdir=.."))),
            new(Flags, "X-mount.mkdir", StatusCode.InvalidArgument, "X-mount.mkdir", () => Stage(a, contextA, freshStaging, WithFlags("X-mount.mkdir"))),
            new(Flags, "x-systemd.automount", StatusCode.InvalidArgument, "x-systemd", () => Stage(a, contextA, freshStaging, WithFlags("x-systemd.automount"))),
            new(Flags, "bind", StatusCode.InvalidArgument, "'bind'", () => Stage(a, contextA, freshStaging, WithFlags("bind"))),
            new(Flags, "rbind", StatusCode.InvalidArgument, "'rbind'", () => Stage(a, contextA, freshStaging, WithFlags("rbind"))),
            new(Flags, "remount", StatusCode.InvalidArgument, "'remount'", () => Stage(a, contextA, freshStaging, WithFlags("remount"))),
            new(Flags, "move", StatusCode.InvalidArgument, "'move'", () => Stage(a, contextA, freshStaging, WithFlags("move"))),
            new(Flags, "offset=1048576", StatusCode.InvalidArgument, "offset", () => Stage(a, contextA, freshStaging, WithFlags("offset=1048576"))),
            new(Flags, "sizelimit=1m", StatusCode.InvalidArgument, "sizelimit", () => Stage(a, contextA, freshStaging, WithFlags("sizelimit=1m"))),
            new(Flags, "helper=udisks2", StatusCode.InvalidArgument, "helper", () => Stage(a, contextA, freshStaging, WithFlags("helper=udisks2"))),
            new(Flags, "shared (propagation)", StatusCode.InvalidArgument, "'shared'", () => Stage(a, contextA, freshStaging, WithFlags("shared"))),
            new(Flags, "rprivate (propagation)", StatusCode.InvalidArgument, "'rprivate'", () => Stage(a, contextA, freshStaging, WithFlags("rprivate"))),
            new(Flags, "logdev=/dev/loop0", StatusCode.InvalidArgument, "logdev", () => Stage(b, contextB, freshStaging, VolumeSteps.Mount("xfs", "logdev=/dev/loop0"))),
            new(Flags, "journal_path=/dev/loop0", StatusCode.InvalidArgument, "journal_path", () => Stage(a, contextA, freshStaging, WithFlags("journal_path=/dev/loop0"))),
            new(Flags, "loop hidden in one flag after an allowed option", StatusCode.InvalidArgument, "'loop'",
                () => Stage(a, contextA, freshStaging, WithFlags("noatime,loop"))),
            new(Flags, "an option not on the list", StatusCode.InvalidArgument, "no-such-option", () => Stage(a, contextA, freshStaging, WithFlags("no-such-option"))),
            new(Flags, "an allowed option with a value it does not take", StatusCode.InvalidArgument, "errors=", () => Stage(a, contextA, freshStaging, WithFlags("errors=../../etc"))),
            new(Flags, "an unbalanced quote", StatusCode.InvalidArgument, "quote", () => Stage(a, contextA, freshStaging, WithFlags("context=\"system_u,loop"))),
            new(Flags, "loop on publish", StatusCode.InvalidArgument, "'loop'", () => Publish(a, contextA, kubelet.Staging("a"), freshTarget, WithFlags("loop"))),

            new(Data, "stage (ext4) a volume a pod used raw, data at 100 MiB, edges zero", StatusCode.FailedPrecondition, "raw block device",
                () => Stage(c, contextC, kubelet.Staging("c"), ext4)),
            new(Data, "stage (xfs) the same volume", StatusCode.FailedPrecondition, "raw block device",
                () => Stage(c, contextC, kubelet.Staging("c"), xfs)),
            new(Data, "stage (ext4) a volume another writer put data at 100 MiB on, edges zero", StatusCode.FailedPrecondition, "without a known signature",
                () => Stage(d, contextD, kubelet.Staging("d"), ext4)),
        ];

        var failures = new List<string>();
        foreach (var attack in attacks)
        {
            var before = Snapshot();
            var error = await Record.ExceptionAsync(attack.Call);
            var code = error is RpcException rpc ? rpc.StatusCode : error is null ? StatusCode.OK : StatusCode.Unknown;
            var detail = (error as RpcException)?.Status.Detail ?? error?.Message ?? string.Empty;
            if (code != attack.Expected || !detail.Contains(attack.MessagePart, StringComparison.Ordinal))
            {
                failures.Add($"[{attack.Class}] {attack.Name}: got {code} '{detail}', expected {attack.Expected} mentioning '{attack.MessagePart}'");
            }
            var after = Snapshot();
            if (!before.SequenceEqual(after))
            {
                failures.Add($"[{attack.Class}] {attack.Name}: the host changed: -{string.Join(" -", before.Except(after))} +{string.Join(" +", after.Except(before))}");
            }
        }
        foreach (var group in attacks.GroupBy(x => x.Class))
        {
            output.WriteLine($"{group.Key}: {group.Count()} cases, {group.Count(x => !failures.Any(f => f.StartsWith($"[{x.Class}] {x.Name}:", StringComparison.Ordinal)))} as expected");
        }
        Assert.Empty(failures);

        // The volumes the attacks aimed at are intact and their owners can still tear them down.
        Assert.Equal("volume a", await File.ReadAllTextAsync(Path.Combine(kubelet.Target("a"), "a.txt")));
        Assert.Equal("volume b", await File.ReadAllTextAsync(Path.Combine(kubelet.Target("b"), "b.txt")));
        await steps.TearDownAsync(a.VolumeId, kubelet.Staging("a"), kubelet.Target("a"));
        await steps.TearDownAsync(b.VolumeId, kubelet.Staging("b"), kubelet.Target("b"));
        await steps.TearDownAsync(c.VolumeId, null, null);
        await steps.TearDownAsync(d.VolumeId, null, null);
        Assert.False(Directory.Exists(kubelet.Target("a")), "the driver created A's target, so unpublish removes it");
        foreach (var volume in new[] { a, b, c, d })
        {
            await driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volume.VolumeId });
        }
        Shell.Run("umount", foreign);
        Assert.Empty(TestDirectory.MountPointsBelow(dir.Root + "/"));
    }

    /// <summary>kubelet's layout below its root directory (pkg/volume/csi), for a volume named by a short key.</summary>
    private sealed record KubeletPaths(string Root)
    {
        public string Pods => Path.Combine(Root, "pods");

        private string Csi => Path.Combine(Root, "plugins", "kubernetes.io", "csi");

        public string Staging(string key) => Path.Combine(Csi, DriverName, "hash-" + key, "globalmount");

        public string Target(string key) => Path.Combine(Pods, "pod-" + key, "volumes", "kubernetes.io~csi", "pv-" + key, "mount");

        public string BlockStaging(string key) => Path.Combine(Csi, "volumeDevices", "staging", "pv-" + key);

        public string BlockTarget(string key) => Path.Combine(Csi, "volumeDevices", "publish", "pv-" + key, "pod-" + key);
    }

    /// <summary>
    /// Mounts below the scratch directory and at the attacked system paths (id, device, root, point, type: a mount
    /// taken away and put back shows as a new id), the bytes of watched files and device regions, what watched paths
    /// are, and the size of watched filesystems. Other tests' mounts elsewhere on the machine are not in it.
    /// </summary>
    private static List<string> HostSnapshot(string root, string[] files, string[] paths, string[] devices, string[] filesystems)
    {
        var lines = new List<string>();
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            var mountPoint = Mounter.Mounts.MountInfoParser.Unescape(fields[4]);
            if (mountPoint.StartsWith(root + "/", StringComparison.Ordinal) || WatchedSystemPaths.Contains(mountPoint))
            {
                var separator = Array.IndexOf(fields, "-", 6);
                lines.Add($"mount {fields[0]} {fields[2]} {fields[3]} {mountPoint} {fields[separator + 1]}");
            }
        }
        lines.AddRange(files.Select(f => $"file {f} {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))}"));
        lines.AddRange(paths.Select(p => $"path {p} {new FileInfo(p).LinkTarget ?? (Directory.Exists(p) ? "dir" : File.Exists(p) ? "file" : "missing")}"));
        lines.AddRange(devices.Select(d => $"device {d} {Convert.ToHexString(SHA256.HashData(ReadAt(d, DataOffset, 1 << 20)))}"));
        lines.AddRange(filesystems.Select(f => $"filesystem {f} {new DriveInfo(f).TotalSize}"));
        return lines;
    }

    private static string DeviceOf(IDictionary<string, string> publishContext) =>
        new FileInfo(publishContext["devicePath"]).ResolveLinkTarget(returnFinalTarget: true)!.FullName;
}
