using System.Globalization;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace CsiDriver.E2E;

/// <summary>
/// The flows a user runs, through real Kubernetes objects: StorageClass provisioning (Immediate and
/// WaitForFirstConsumer), data that outlives its pod, raw block, online expansion, snapshot → restore, clone,
/// VolumeAttributesClass changes. Every test ends by deleting all it made and proving nothing is left.
/// With E2E_PODS=0 (a node that cannot run the backend's volumes) each flow stops at what the controller does
/// and attaches through VolumeAttachments it creates itself.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class VolumeLifecycleTests(ClusterFixture cluster, ITestOutputHelper output)
{
    private E2ESettings Settings => cluster.Settings;

    [Fact]
    public async Task Immediate_binding_provisions_without_a_pod_and_the_data_outlives_its_pod()
    {
        await using var t = await TestScope.StartAsync(cluster, output, "immediate");
        await t.Step("PVC created", () => t.ApplyAsync(Manifests.Pvc("data", cluster.XfsImmediate, cluster.Size(1))));
        var pv = await t.Step("PVC bound before any pod", () => t.WaitBoundAsync("data"));
        if (Settings.Pods)
        {
            var written = await WriteInNewPodAsync(t, "writer", "data");
            await t.Step("first pod deleted", () => t.DeletePodAsync("writer"));
            await t.Step("second pod on the same PVC Ready", () => t.StartPodAsync("reader", "data"));
            var read = await t.Step("second pod reads the file", () => t.ExecAsync("reader", Md5Of(PayloadPath)));
            Assert.Equal(written, read);
        }
        else
        {
            await AttachAndDetachAsync(t, pv);
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [Fact]
    public async Task WaitForFirstConsumer_provisions_only_for_the_node_of_the_first_consumer()
    {
        await using var t = await TestScope.StartAsync(cluster, output, "wait-for-first-consumer");
        await t.Step("PVC created", () => t.ApplyAsync(Manifests.Pvc("data", cluster.XfsWaitForConsumer, cluster.Size(1))));
        await t.Step("PVC waits for its first consumer", () => t.UntilAsync("event WaitForFirstConsumer on PVC data",
            () => cluster.Kubectl.ListAsync("events", t.Namespace, "involvedObject.name=data,reason=WaitForFirstConsumer"),
            events => events.Count > 0, events => $"{events.Count} events"));
        var pending = await t.GetAsync("pvc", "data");
        Assert.Equal("Pending", pending!["status"]!["phase"]!.GetValue<string>());
        Assert.Null(pending["spec"]!["volumeName"]);

        JsonNode pv;
        if (Settings.Pods)
        {
            await t.Step("consumer pod created", () => t.ApplyAsync(Manifests.Pod("app", "data", Settings.Image)));
            pv = await t.Step("PVC bound for the pod's node", () => t.WaitBoundAsync("data"));
            await t.Step("pod Ready", () => t.StartPodAsync("app", "data"));
            Assert.Equal("ok", await t.Step("pod writes", () => t.ExecAsync("app", $"echo ok > {Manifests.MountPath}/f && sync && cat {Manifests.MountPath}/f")));
        }
        else
        {
            // What the scheduler does for a pod: name the node on the claim.
            await t.Step("PVC given a node", () => cluster.Kubectl.RunAsync("annotate", "pvc", "data", "-n", t.Namespace,
                $"volume.kubernetes.io/selected-node={cluster.Node}"));
            pv = await t.Step("PVC bound for that node", () => t.WaitBoundAsync("data"));
            await AttachAndDetachAsync(t, pv);
        }
        // The volume was made where the node is: its PV is confined to the node's topology.
        Assert.NotNull(pv["spec"]!["nodeAffinity"]?["required"]);
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [Fact]
    public async Task Raw_block_volume_is_a_device_in_the_pod_and_keeps_its_bytes()
    {
        await using var t = await TestScope.StartAsync(cluster, output, "raw-block");
        await t.Step("block PVC created", () => t.ApplyAsync(Manifests.Pvc("raw", Settings.Pods ? cluster.XfsWaitForConsumer : cluster.XfsImmediate, cluster.Size(1), block: true)));
        if (Settings.Pods)
        {
            await t.Step("pod with the device Ready", () => t.StartPodAsync("writer", "raw", block: true));
            await t.WaitBoundAsync("raw");
            var size = await t.Step("device size read", () => t.ExecAsync("writer", $"blockdev --getsize64 {Manifests.DevicePath}"));
            Assert.Equal(cluster.Bytes(1), long.Parse(size, CultureInfo.InvariantCulture));
            var written = await t.Step("4 MiB written to the device", () => t.ExecAsync("writer",
                $"set -e; dd if=/dev/urandom of=/tmp/p bs=1M count=4 2>/dev/null; dd if=/tmp/p of={Manifests.DevicePath} bs=1M conv=fsync 2>/dev/null; md5sum < /tmp/p | cut -d' ' -f1"));
            await t.Step("pod deleted", () => t.DeletePodAsync("writer"));
            await t.Step("second pod with the device Ready", () => t.StartPodAsync("reader", "raw", block: true));
            var read = await t.Step("second pod reads the device", () => t.ExecAsync("reader",
                $"dd if={Manifests.DevicePath} bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1"));
            Assert.Equal(written, read);
        }
        else
        {
            var pv = await t.Step("block PVC bound", () => t.WaitBoundAsync("raw"));
            Assert.Equal("Block", pv["spec"]!["volumeMode"]!.GetValue<string>());
            await AttachAndDetachAsync(t, pv);
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [SkippableTheory]
    [InlineData("xfs")]
    [InlineData("ext4")]
    public async Task Expansion_while_the_pod_runs_grows_the_claim_and_the_filesystem(string fsType)
    {
        Skip.If(fsType == "ext4" && Settings.Pods && !Settings.OnlineExt4Growth,
            "E2E_ONLINE_EXT4=0: growing a mounted ext4 needs CAP_SYS_RESOURCE, which this node plugin lacks");
        Skip.If(fsType == "ext4" && !Settings.Pods,
            "E2E_PODS=0: only the controller expands here, which does not depend on the filesystem (covered by the xfs case)");
        await using var t = await TestScope.StartAsync(cluster, output, $"expand-{fsType}");
        var storageClass = !Settings.Pods ? cluster.XfsImmediate : fsType == "xfs" ? cluster.XfsWaitForConsumer : cluster.Ext4WaitForConsumer;
        await t.Step("PVC created", () => t.ApplyAsync(Manifests.Pvc("data", storageClass, cluster.Size(1))));
        if (Settings.Pods)
        {
            await t.Step("pod Ready", () => t.StartPodAsync("app", "data"));
            var pv = await t.WaitBoundAsync("data");
            Assert.Equal(fsType, pv["spec"]!["csi"]!["fsType"]!.GetValue<string>());
            var before = await DfBytesAsync(t, "app");
            await t.Step($"PVC request raised to {cluster.Size(2)}", () => ResizeAsync(t, "data", cluster.Size(2)));
            await GrownInPodAsync(t, "app", before);
            Assert.Equal("ok", await t.ExecAsync("app", $"echo ok > {Manifests.MountPath}/after && cat {Manifests.MountPath}/after"));
        }
        else
        {
            var pv = await t.Step("PVC bound", () => t.WaitBoundAsync("data"));
            var pvName = pv["metadata"]!["name"]!.GetValue<string>();
            await t.Step($"PVC request raised to {cluster.Size(2)}", () => ResizeAsync(t, "data", cluster.Size(2)));
            await t.Step("PV capacity doubled (ControllerExpandVolume)", () => WaitPvCapacityAsync(t, pvName, cluster.Size(2)));
            await t.Step("PVC waits for the node to grow the filesystem", () => t.UntilAsync("PVC condition FileSystemResizePending",
                () => t.GetAsync("pvc", "data"),
                c => c?["status"]?["conditions"]?.AsArray().Any(x => x!["type"]!.GetValue<string>() == "FileSystemResizePending") == true,
                c => c?["status"]?.ToJsonString()));
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [SkippableFact]
    public async Task Ext4_expanded_between_pods_is_grown_when_the_next_pod_mounts_it()
    {
        Skip.IfNot(Settings.Pods, "E2E_PODS=0: no pod mounts the volume here (controller expansion is covered by the xfs case)");
        await using var t = await TestScope.StartAsync(cluster, output, "expand-ext4-offline");
        await t.Step("PVC created", () => t.ApplyAsync(Manifests.Pvc("data", cluster.Ext4WaitForConsumer, cluster.Size(1))));
        var written = await WriteInNewPodAsync(t, "writer", "data");
        var pv = await t.WaitBoundAsync("data");
        Assert.Equal("ext4", pv["spec"]!["csi"]!["fsType"]!.GetValue<string>());
        var before = await DfBytesAsync(t, "writer");
        await t.Step("pod deleted (volume unstaged)", () => t.DeletePodAsync("writer"));
        var pvName = pv["metadata"]!["name"]!.GetValue<string>();
        await t.Step($"PVC request raised to {cluster.Size(2)}", () => ResizeAsync(t, "data", cluster.Size(2)));
        await t.Step("PV capacity doubled (ControllerExpandVolume)", () => WaitPvCapacityAsync(t, pvName, cluster.Size(2)));
        await t.Step("new pod Ready", () => t.StartPodAsync("reader", "data"));
        await GrownInPodAsync(t, "reader", before);
        Assert.Equal(written, await t.Step("data still there", () => t.ExecAsync("reader", Md5Of(PayloadPath))));
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [Fact]
    public async Task Snapshot_restores_into_a_larger_volume_with_the_data_as_at_snapshot_time()
    {
        await using var t = await TestScope.StartAsync(cluster, output, "snapshot-restore");
        var storageClass = SourceClass;
        var atSnapshot = await CreateSourceAsync(t, storageClass);
        await t.Step("VolumeSnapshot created", () => t.ApplyAsync(Manifests.VolumeSnapshot("snap", "source", cluster.SnapshotClass)));
        await t.Step("VolumeSnapshot readyToUse", () => t.WaitSnapshotReadyAsync("snap"));
        if (Settings.Pods)
        {
            var later = await t.Step("source overwritten after the snapshot", () => t.ExecAsync("writer", WritePayload));
            Assert.NotEqual(atSnapshot, later);
        }
        await t.Step("PVC restored from the snapshot, twice the size", () => t.ApplyAsync(
            Manifests.Pvc("restored", storageClass, cluster.Size(2), dataSource: Manifests.SnapshotSource("snap"))));
        if (Settings.Pods)
        {
            await t.Step("pod on the restored PVC Ready", () => t.StartPodAsync("reader", "restored"));
            var read = await t.Step("restored file read", () => t.ExecAsync("reader", Md5Of(PayloadPath)));
            Assert.Equal(atSnapshot, read);
            Assert.True(await DfBytesAsync(t, "reader") > cluster.Bytes(1) * 3 / 2, "the restored filesystem fills the larger volume");
        }
        var restored = await t.Step("restored PVC bound", () => t.WaitBoundAsync("restored"));
        Assert.Equal(cluster.Size(2), restored["spec"]!["capacity"]!["storage"]!.GetValue<string>());
        if (!Settings.Pods)
        {
            await AttachAndDetachAsync(t, restored);
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [Fact]
    public async Task Clone_of_a_claim_carries_its_data()
    {
        await using var t = await TestScope.StartAsync(cluster, output, "clone");
        var storageClass = SourceClass;
        var written = await CreateSourceAsync(t, storageClass);
        await t.Step("clone PVC created", () => t.ApplyAsync(Manifests.Pvc("clone", storageClass, cluster.Size(1), dataSource: Manifests.PvcSource("source"))));
        if (Settings.Pods)
        {
            await t.Step("pod on the clone Ready", () => t.StartPodAsync("reader", "clone"));
            var read = await t.Step("cloned file read", () => t.ExecAsync("reader", Md5Of(PayloadPath)));
            Assert.Equal(written, read);
        }
        var clone = await t.Step("clone PVC bound", () => t.WaitBoundAsync("clone"));
        if (!Settings.Pods)
        {
            await AttachAndDetachAsync(t, clone);
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    [SkippableFact]
    public async Task VolumeAttributesClass_change_modifies_the_volume_in_place()
    {
        Skip.IfNot(Settings.VolumeAttributesClasses, "E2E_VAC=0: the cluster does not serve VolumeAttributesClass");
        await using var t = await TestScope.StartAsync(cluster, output, "volume-attributes-class");
        // local: the class sets the loop device's read-ahead, which a raw block pod reads from sysfs.
        var readAhead = Settings.Backend == "local" && Settings.Pods;
        var storageClass = Settings.Pods ? cluster.XfsWaitForConsumer : cluster.XfsImmediate;
        await t.Step("PVC created with the standard class", () => t.ApplyAsync(
            Manifests.Pvc("data", storageClass, cluster.Size(2), block: readAhead, volumeAttributesClass: cluster.VolumeAttributesClassFrom)));
        if (Settings.Pods)
        {
            await t.Step("pod Ready", () => t.StartPodAsync("app", "data", block: readAhead));
        }
        var pv = await t.Step("PVC bound", () => t.WaitBoundAsync("data"));
        Assert.Equal(cluster.VolumeAttributesClassFrom, pv["spec"]!["volumeAttributesClassName"]?.GetValue<string>());
        if (readAhead)
        {
            Assert.Equal(ClusterFixture.LocalReadAheadFromKiB, await t.Step("read-ahead of the standard class seen in the pod", () => ReadAheadKiBAsync(t, "app")));
        }
        await t.Step("PVC switched to the fast class", () => t.PatchAsync("pvc", "data",
            new JsonObject { ["spec"] = new JsonObject { ["volumeAttributesClassName"] = cluster.VolumeAttributesClassTo } }));
        await t.Step("ControllerModifyVolume done (PVC status names the fast class)", () => t.UntilAsync(
            "PVC status.currentVolumeAttributesClassName = the fast class", () => t.GetAsync("pvc", "data"),
            c => c?["status"]?["currentVolumeAttributesClassName"]?.GetValue<string>() == cluster.VolumeAttributesClassTo
                 && c["status"]?["modifyVolumeStatus"] is null,
            c => c?["status"]?.ToJsonString()));
        var pvName = pv["metadata"]!["name"]!.GetValue<string>();
        var modified = await cluster.Kubectl.GetAsync("pv", pvName);
        Assert.Equal(cluster.VolumeAttributesClassTo, modified!["spec"]!["volumeAttributesClassName"]?.GetValue<string>());
        if (readAhead)
        {
            await t.Step("read-ahead of the fast class seen in the running pod", () => t.UntilAsync(
                $"read_ahead_kb {ClusterFixture.LocalReadAheadToKiB}", () => ReadAheadKiBAsync(t, "app"),
                kib => kib == ClusterFixture.LocalReadAheadToKiB, kib => $"{kib} KiB"));
        }
        else if (Settings.Pods)
        {
            Assert.Equal("ok", await t.ExecAsync("app", $"echo ok > {Manifests.MountPath}/f && cat {Manifests.MountPath}/f"));
        }
        else
        {
            await AttachAndDetachAsync(t, modified);
        }
        await t.Step("everything deleted, nothing left", t.DeleteEverythingAndVerifyAsync);
    }

    /// <summary>The kernel read-ahead of the pod's raw block device, read from sysfs through its major:minor.</summary>
    private static async Task<int> ReadAheadKiBAsync(TestScope t, string pod) => int.Parse(await t.ExecAsync(pod,
        $"set -- $(stat -c '%t %T' {Manifests.DevicePath}); cat /sys/dev/block/$((0x$1)):$((0x$2))/queue/read_ahead_kb"),
        CultureInfo.InvariantCulture);

    private const string PayloadPath = Manifests.MountPath + "/payload";

    /// <summary>8 MiB of random bytes, synced; prints their MD5.</summary>
    private static readonly string WritePayload =
        $"set -e; dd if=/dev/urandom of={PayloadPath} bs=1M count=8 2>/dev/null; sync; md5sum < {PayloadPath} | cut -d' ' -f1";

    private static string Md5Of(string path) => $"md5sum < {path} | cut -d' ' -f1";

    /// <summary>With pods, bound when its pod schedules; without, at once.</summary>
    private string SourceClass => Settings.Pods ? cluster.XfsWaitForConsumer : cluster.XfsImmediate;

    /// <summary>PVC "source", bound; with pods, pod "writer" has written the payload (its MD5 is returned).</summary>
    private async Task<string?> CreateSourceAsync(TestScope t, string storageClass)
    {
        await t.Step("source PVC created", () => t.ApplyAsync(Manifests.Pvc("source", storageClass, cluster.Size(1))));
        var written = Settings.Pods ? await WriteInNewPodAsync(t, "writer", "source") : null;
        await t.WaitBoundAsync("source");
        return written;
    }

    private static async Task<string> WriteInNewPodAsync(TestScope t, string pod, string pvc)
    {
        await t.Step($"pod {pod} Ready", () => t.StartPodAsync(pod, pvc));
        return await t.Step($"pod {pod} writes 8 MiB", () => t.ExecAsync(pod, WritePayload));
    }

    private static async Task<long> DfBytesAsync(TestScope t, string pod) =>
        1024 * long.Parse(await t.ExecAsync(pod, $"df -k {Manifests.MountPath} | tail -n 1 | awk '{{print $2}}'"), CultureInfo.InvariantCulture);

    private Task WaitPvCapacityAsync(TestScope t, string pvName, string size) => t.UntilAsync($"PV {pvName} capacity {size}",
        () => cluster.Kubectl.GetAsync("pv", pvName), p => p?["spec"]?["capacity"]?["storage"]?.GetValue<string>() == size,
        p => p?["spec"]?["capacity"]?.ToJsonString());

    /// <summary>PVC "data" reports twice the size, and the filesystem the pod sees has grown by at least half the first size.</summary>
    private async Task GrownInPodAsync(TestScope t, string pod, long before)
    {
        await t.Step($"PVC capacity {cluster.Size(2)}", () => t.UntilAsync("PVC data status.capacity doubled", () => t.GetAsync("pvc", "data"),
            c => c?["status"]?["capacity"]?["storage"]?.GetValue<string>() == cluster.Size(2), c => c?["status"]?.ToJsonString()));
        var after = await t.Step($"df in pod {pod} grew", () => t.UntilAsync("the filesystem in the pod grown by half its size",
            () => DfBytesAsync(t, pod), size => size > before + cluster.Bytes(1) / 2, size => $"{size} bytes (was {before})"));
        output.WriteLine($"df: {before} → {after} bytes");
    }

    private static Task ResizeAsync(TestScope t, string pvc, string size) => t.PatchAsync("pvc", pvc, new JsonObject
    {
        ["spec"] = new JsonObject { ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = size } } },
    });

    private static async Task AttachAndDetachAsync(TestScope t, JsonNode pv)
    {
        var pvName = pv["metadata"]!["name"]!.GetValue<string>();
        var attachment = await t.Step("attached through a VolumeAttachment (ControllerPublishVolume)", () => t.AttachAsync(pvName));
        await t.Step("detached (ControllerUnpublishVolume)", () => t.DetachAsync(attachment));
    }
}
