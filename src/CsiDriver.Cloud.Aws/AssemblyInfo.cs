using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("CsiDriver.Cloud.Aws.Tests")]
