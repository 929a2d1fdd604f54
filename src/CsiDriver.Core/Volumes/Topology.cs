namespace CsiDriver.Core.Volumes;

/// <summary>One topology segment set, e.g. { "topology.kubernetes.io/zone": "us-east-1a" }.</summary>
public sealed class TopologySegments : Dictionary<string, string>
{
    public TopologySegments() : base(StringComparer.Ordinal) { }

    public TopologySegments(IEnumerable<KeyValuePair<string, string>> segments) : base(segments, StringComparer.Ordinal) { }
}

/// <summary>The CO's accessibility_requirements: requisite bounds the choice, preferred orders it.</summary>
public sealed record TopologyRequirementSpec(
    IReadOnlyList<TopologySegments> Requisite,
    IReadOnlyList<TopologySegments> Preferred);
