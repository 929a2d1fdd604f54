using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace CsiDriver.E2E;

/// <summary>
/// The StorageClass, VolumeSnapshotClass and VolumeAttributesClass examples of deploy/examples, as a user would
/// apply them, with only what a test must change (name, driver, binding mode, filesystem) rewritten. A broken
/// example therefore breaks the e2e.
/// </summary>
public sealed class Examples(string repoRoot)
{
    public string StorageClass(string example, string name, string driver, string bindingMode, string fsType) =>
        Edit(example, root =>
        {
            Set(Child(root, "metadata"), "name", name);
            Set(root, "provisioner", driver);
            Set(root, "volumeBindingMode", bindingMode);
            Set(Child(root, "parameters"), "csi.storage.k8s.io/fstype", fsType);
        });

    public string VolumeSnapshotClass(string example, string name, string driver) =>
        Edit(example, root =>
        {
            Set(Child(root, "metadata"), "name", name);
            Set(root, "driver", driver);
        });

    /// <summary>apiVersion: the one the cluster serves (storage.k8s.io/v1beta1 on 1.31-1.33, v1 from 1.34).</summary>
    public string VolumeAttributesClass(string example, string name, string driver, string apiVersion) =>
        Edit(example, root =>
        {
            Set(root, "apiVersion", apiVersion);
            Set(Child(root, "metadata"), "name", name);
            Set(root, "driverName", driver);
        });

    private string Edit(string example, Action<YamlMappingNode> edit)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(File.ReadAllText(Path.Combine(repoRoot, "deploy", "examples", example))))
        {
            stream.Load(reader);
        }
        edit((YamlMappingNode)stream.Documents.Single().RootNode);
        using var writer = new StringWriter();
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    private static YamlMappingNode Child(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var child) && child is YamlMappingNode mapping
            ? mapping
            : throw new InvalidOperationException($"the example has no mapping '{key}'");

    private static void Set(YamlMappingNode node, string key, string value) =>
        node.Children[new YamlScalarNode(key)] = new YamlScalarNode(value) { Style = ScalarStyle.DoubleQuoted };
}
