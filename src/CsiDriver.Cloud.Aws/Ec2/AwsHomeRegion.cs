namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>
/// The region the driver runs in (its EC2 clients' region): --region, AWS_REGION or AWS_DEFAULT_REGION when given,
/// else filled in from instance metadata by <see cref="AwsStartup"/> before the CSI socket listens.
/// </summary>
public sealed class AwsHomeRegion(string? name = null)
{
    private string? _name = name;

    public bool IsKnown => Volatile.Read(ref _name) is not null;

    public string Name => Volatile.Read(ref _name)
        ?? throw new InvalidOperationException("the AWS region is resolved at start-up (AwsStartup); nothing may call EC2 before the host starts");

    internal void Resolve(string name) => Volatile.Write(ref _name, name);
}
