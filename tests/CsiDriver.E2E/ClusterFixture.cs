using System.Text.Json.Nodes;

namespace CsiDriver.E2E;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>
/// The cluster the suite runs against, checked once: the CSIDriver object is installed, and the classes every
/// test uses exist (made from deploy/examples, removed at the end).
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly List<(string Kind, string Name)> _created = [];

    public E2ESettings Settings { get; private set; } = null!;

    public Kubectl Kubectl { get; private set; } = null!;

    /// <summary>The node a WaitForFirstConsumer claim is given when no pod schedules it.</summary>
    public string Node { get; private set; } = null!;

    public string Prefix => $"e2e-{Settings.Backend}";

    public string XfsImmediate => $"{Prefix}-xfs-immediate";

    public string XfsWaitForConsumer => $"{Prefix}-xfs-wffc";

    public string Ext4WaitForConsumer => $"{Prefix}-ext4-wffc";

    public string SnapshotClass => $"{Prefix}-snapclass";

    public string VolumeAttributesClassFrom => $"{Prefix}-standard";

    public string VolumeAttributesClassTo => $"{Prefix}-fast";

    /// <summary>The read-ahead the local classes set (vac-local-readahead-default/-large.yaml), in KiB.</summary>
    public const int LocalReadAheadFromKiB = 128;

    public const int LocalReadAheadToKiB = 1024;

    /// <summary>A volume size, as a quantity: n times E2E_VOLUME_GIB.</summary>
    public string Size(int n) => $"{n * Settings.VolumeGiB}Gi";

    public long Bytes(int n) => n * Settings.VolumeGiB * (1L << 30);

    public async Task InitializeAsync()
    {
        Settings = E2ESettings.FromEnvironment();
        // Above E2E_TIMEOUT: a `kubectl delete --wait --timeout=<E2E_TIMEOUT>` must end by itself, with its own message.
        Kubectl = new Kubectl(Settings.Timeout + TimeSpan.FromSeconds(60));
        _ = await Kubectl.GetAsync("csidriver", Settings.DriverName)
            ?? throw new InvalidOperationException($"CSIDriver {Settings.DriverName} is not installed (kubectl apply -f deploy/kubernetes/base/csidriver.yaml)");
        Node = Settings.Node ?? (await Kubectl.ListAsync("nodes")).Select(n => n["metadata"]!["name"]!.GetValue<string>()).First();

        var examples = new Examples(Settings.RepoRoot);
        var storageClass = Settings.Backend == "aws" ? "dynamic-provisioning/storageclass-aws-gp3.yaml" : "dynamic-provisioning/storageclass.yaml";
        await CreateAsync("storageclass", XfsImmediate, examples.StorageClass(storageClass, XfsImmediate, Settings.DriverName, "Immediate", "xfs"));
        await CreateAsync("storageclass", XfsWaitForConsumer, examples.StorageClass(storageClass, XfsWaitForConsumer, Settings.DriverName, "WaitForFirstConsumer", "xfs"));
        await CreateAsync("storageclass", Ext4WaitForConsumer, examples.StorageClass(storageClass, Ext4WaitForConsumer, Settings.DriverName, "WaitForFirstConsumer", "ext4"));
        await CreateAsync("volumesnapshotclass", SnapshotClass, examples.VolumeSnapshotClass("snapshot/volumesnapshotclass.yaml", SnapshotClass, Settings.DriverName));
        if (Settings.VolumeAttributesClasses)
        {
            var apiVersion = await VolumeAttributesClassApiVersionAsync();
            // aws: gp3 IOPS/throughput; local: the loop device's read-ahead (its one mutable parameter).
            var (from, to) = Settings.Backend == "aws"
                ? ("vac-gp3-standard.yaml", "vac-gp3-fast.yaml")
                : ("vac-local-readahead-default.yaml", "vac-local-readahead-large.yaml");
            await CreateAsync("volumeattributesclass", VolumeAttributesClassFrom, examples.VolumeAttributesClass(
                $"volume-attributes-class/{from}", VolumeAttributesClassFrom, Settings.DriverName, apiVersion));
            await CreateAsync("volumeattributesclass", VolumeAttributesClassTo, examples.VolumeAttributesClass(
                $"volume-attributes-class/{to}", VolumeAttributesClassTo, Settings.DriverName, apiVersion));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var (kind, name) in Enumerable.Reverse(_created))
        {
            await Kubectl.TryAsync(["delete", kind, name, "--ignore-not-found", "--wait=false"]);
        }
    }

    private async Task CreateAsync(string kind, string name, string manifest)
    {
        // A class left by an interrupted run may differ (classes are mostly immutable): replace it.
        await Kubectl.RunAsync("delete", kind, name, "--ignore-not-found");
        await Kubectl.ApplyAsync(manifest);
        _created.Add((kind, name));
    }

    /// <summary>storage.k8s.io/v1 from Kubernetes 1.34, v1beta1 on 1.31-1.33 (feature gate and runtime-config on).</summary>
    private async Task<string> VolumeAttributesClassApiVersionAsync()
    {
        foreach (var version in new[] { "storage.k8s.io/v1", "storage.k8s.io/v1beta1" })
        {
            var result = await Kubectl.TryAsync(["get", "--raw", $"/apis/{version}"]);
            if (result.Succeeded && JsonNode.Parse(result.StdOut)!["resources"]!.AsArray()
                    .Any(r => r!["name"]!.GetValue<string>() == "volumeattributesclasses"))
            {
                return version;
            }
        }
        throw new InvalidOperationException(
            "the cluster serves no VolumeAttributesClass API: on 1.31-1.33 start it with the VolumeAttributesClass feature gate " +
            "and --runtime-config=storage.k8s.io/v1beta1=true, or set E2E_VAC=0");
    }
}
