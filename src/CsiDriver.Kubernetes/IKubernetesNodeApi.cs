namespace CsiDriver.Kubernetes;

/// <summary>A taint on a Node object.</summary>
public sealed record NodeTaint(string Key, string? Value, string Effect)
{
    /// <summary>When a NoExecute taint was added; kept on rewrite so tolerationSeconds of running pods keep counting from it.</summary>
    public DateTimeOffset? TimeAdded { get; init; }
}

/// <summary>The parts of a Kubernetes Node object the driver reads.</summary>
public sealed record KubernetesNode(
    string Name,
    string? ProviderId,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<NodeTaint> Taints,
    string ResourceVersion);

/// <summary>
/// Node get and taint update on the Kubernetes API. Implementations retry transient failures;
/// a 403 surfaces as <see cref="UnauthorizedAccessException"/> naming the missing permission.
/// </summary>
public interface IKubernetesNodeApi
{
    /// <summary>The node, or null when it does not exist.</summary>
    Task<KubernetesNode?> GetNodeAsync(string name, CancellationToken cancellationToken);

    /// <summary>Replaces the node's taints, guarded by resourceVersion; false on a 409 conflict (re-read and retry).</summary>
    Task<bool> TryReplaceTaintsAsync(string name, string resourceVersion, IReadOnlyList<NodeTaint> taints, CancellationToken cancellationToken);
}
