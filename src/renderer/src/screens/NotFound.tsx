import { PageHeader } from '../ui/layout';
import { EmptyState } from '../ui/feedback';
import { ButtonLink } from '../ui/controls';

export function NotFoundScreen() {
  return (
    <>
      <PageHeader title="Page not found" />
      <EmptyState icon="info" title="There is nothing at this address" action={<ButtonLink href="#/overview" variant="primary">Go to the overview</ButtonLink>}>
        The link may be out of date. Use the navigation on the left to find what you need.
      </EmptyState>
    </>
  );
}
