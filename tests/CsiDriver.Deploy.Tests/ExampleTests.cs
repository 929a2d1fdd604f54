using static CsiDriver.Deploy.Tests.Manifests;

namespace CsiDriver.Deploy.Tests;

/// <summary>The deploy/examples a user applies step by step: they parse, name our driver, and refer to each other correctly.</summary>
[Trait("Category", "Unit")]
public sealed class ExampleTests
{
    private static IReadOnlyList<Yaml> All() =>
        Directory.EnumerateFiles(RepoPaths.Examples, "*.yaml", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .SelectMany(f => Yaml.ParseStream(File.ReadAllText(f), Path.GetRelativePath(RepoPaths.Root, f)))
            .ToList();

    private static Yaml One(string kind, string name) => Single(All(), kind, name);

    [Fact]
    public void Every_example_parses_into_named_objects_and_every_example_directory_has_a_readme()
    {
        var docs = All();
        Assert.True(docs.Count >= 12, $"only {docs.Count} example documents");
        Assert.All(docs, d =>
        {
            Assert.False(string.IsNullOrEmpty(d["apiVersion"].Str), $"{d}: no apiVersion");
            Assert.False(string.IsNullOrEmpty(d.Kind), $"{d}: no kind");
            Assert.False(string.IsNullOrEmpty(d.Name), $"{d}: no name");
        });
        Assert.All(Directory.GetDirectories(RepoPaths.Examples), dir => Assert.True(File.Exists(Path.Combine(dir, "README.md")), $"{dir} has no README.md"));
    }

    [Fact]
    public void StorageClasses_and_VolumeSnapshotClasses_and_VolumeAttributesClasses_name_our_driver()
    {
        var docs = All();
        var storageClasses = OfKind(docs, "StorageClass").ToList();
        Assert.NotEmpty(storageClasses);
        Assert.All(storageClasses, sc =>
        {
            Assert.Equal(DriverName, sc["provisioner"].Str);
            Assert.Equal("WaitForFirstConsumer", sc["volumeBindingMode"].Str);
            Assert.Equal("true", sc["allowVolumeExpansion"].Str);
        });
        Assert.All(OfKind(docs, "VolumeSnapshotClass"), c => Assert.Equal(DriverName, c["driver"].Str));
        Assert.NotEmpty(OfKind(docs, "VolumeSnapshotClass"));
        Assert.All(OfKind(docs, "VolumeAttributesClass"), c => Assert.Equal(DriverName, c["driverName"].Str));
        Assert.Equal(4, OfKind(docs, "VolumeAttributesClass").Count());
    }

    [Fact]
    public void Claims_use_existing_classes_and_pods_use_existing_claims()
    {
        var docs = All();
        var classes = OfKind(docs, "StorageClass").Select(c => c.Name).ToHashSet();
        var claims = OfKind(docs, "PersistentVolumeClaim").Select(c => c.Name).ToHashSet();
        Assert.All(OfKind(docs, "PersistentVolumeClaim"), pvc => Assert.Contains(pvc["spec"]["storageClassName"].Str ?? "", classes));
        Assert.All(OfKind(docs, "Pod"), pod => Assert.All(pod["spec"]["volumes"].Items,
            v => Assert.Contains(v["persistentVolumeClaim"]["claimName"].Str ?? "", claims)));
    }

    [Fact]
    public void Expansion_example_grows_the_provisioned_claim()
    {
        var original = Yaml.ParseStream(File.ReadAllText(Path.Combine(RepoPaths.Examples, "dynamic-provisioning", "pvc.yaml")), "pvc.yaml").Single();
        var expanded = Yaml.ParseStream(File.ReadAllText(Path.Combine(RepoPaths.Examples, "resizing", "pvc-2gi.yaml")), "pvc-2gi.yaml").Single();
        Assert.Equal(original.Name, expanded.Name);
        Assert.Equal(original["spec"]["storageClassName"].Str, expanded["spec"]["storageClassName"].Str);
        Assert.Equal("1Gi", original["spec"]["resources"]["requests"]["storage"].Str);
        Assert.Equal("2Gi", expanded["spec"]["resources"]["requests"]["storage"].Str);
    }

    [Fact]
    public void Snapshot_example_snapshots_the_claim_and_restores_from_that_snapshot()
    {
        var snapshot = One("VolumeSnapshot", "data-snapshot");
        Assert.Equal("snapshot.storage.k8s.io/v1", snapshot["apiVersion"].Str);
        Assert.Equal("data", snapshot["spec"]["source"]["persistentVolumeClaimName"].Str);
        One("VolumeSnapshotClass", snapshot["spec"]["volumeSnapshotClassName"].Str!);
        Assert.Contains(OfKind(All(), "PersistentVolumeClaim"), c => c.Name == "data");

        var restored = One("PersistentVolumeClaim", "data-restored");
        var source = restored["spec"]["dataSource"];
        Assert.Equal("snapshot.storage.k8s.io", source["apiGroup"].Str);
        Assert.Equal("VolumeSnapshot", source["kind"].Str);
        Assert.Equal(snapshot.Name, source["name"].Str);
    }

    [Fact]
    public void Block_example_asks_for_a_raw_device_and_the_pod_uses_volumeDevices()
    {
        var pvc = One("PersistentVolumeClaim", "raw");
        Assert.Equal("Block", pvc["spec"]["volumeMode"].Str);
        var pod = One("Pod", "raw-user");
        var container = Assert.Single(pod["spec"]["containers"].Items);
        Assert.Equal("raw", Assert.Single(container["volumeDevices"].Items)["name"].Str);
        Assert.True(container["volumeMounts"].IsNull);
    }

    [Fact]
    public void VolumeAttributesClass_example_starts_on_one_class_that_the_other_replaces()
    {
        var pvc = One("PersistentVolumeClaim", "tuned");
        Assert.Equal("gp3-standard", pvc["spec"]["volumeAttributesClassName"].Str);
        One("VolumeAttributesClass", "gp3-standard");
        One("VolumeAttributesClass", "gp3-fast");
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Examples, "volume-attributes-class", "README.md"));
        Assert.Contains("gp3-fast", readme, StringComparison.Ordinal);
    }

    [Fact]
    public void Group_snapshot_example_selects_the_labelled_claims_of_one_pod_and_restores_each_member()
    {
        var group = One("VolumeGroupSnapshot", "db-snapshot");
        var selector = group["spec"]["source"]["selector"]["matchLabels"]["group"].Str;
        var groupClass = One("VolumeGroupSnapshotClass", group["spec"]["volumeGroupSnapshotClassName"].Str!);
        Assert.Equal(DriverName, groupClass["driver"].Str);
        var members = OfKind(All(), "PersistentVolumeClaim").Where(c => c["metadata"]["labels"]["group"].Str == selector).Select(c => c.Name).Order().ToList();
        Assert.Equal(["db-data", "db-log"], members);
        // One pod mounts both: on AWS the members must be on one instance for CreateSnapshots.
        var pod = One("Pod", "db");
        Assert.Equal(members, pod["spec"]["volumes"].Items.Select(v => v["persistentVolumeClaim"]["claimName"].Str!).Order().ToList());
        foreach (var member in members)
        {
            var restored = One("PersistentVolumeClaim", member + "-restored");
            Assert.Equal("VolumeSnapshot", restored["spec"]["dataSource"]["kind"].Str);
        }
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Examples, "group-snapshot", "README.md"));
        Assert.Contains("snapshot-of-db-data", readme, StringComparison.Ordinal);
    }
}
