import { useAuth, useIsAdmin } from './auth';
import { useRoute } from './lib/router';
import { adminOnlyScreen, Shell } from './Shell';
import { ACCOUNT_KINDS } from './lib/roles';
import { AccountDetailScreen } from './screens/AccountDetail';
import { AccountListScreen } from './screens/Accounts';
import { AuditScreen } from './screens/Audit';
import { DiscoveredScreen } from './screens/Discovered';
import { IdentityDetailScreen } from './screens/IdentityDetail';
import { IdentityListScreen } from './screens/IdentityRecords';
import { NotAllowedScreen, NotFoundScreen } from './screens/NotFound';
import { OutboxScreen } from './screens/Outbox';
import { OverviewScreen } from './screens/Overview';
import { RecordDetailScreen } from './screens/RecordDetail';
import { RecordListScreen } from './screens/Records';
import { ReidentifyDeskScreen } from './screens/ReidentifyDesk';
import { SettingsScreen } from './screens/Settings';
import { SignInScreen, StartingScreen } from './screens/SignIn';
import { TokensScreen } from './screens/Tokens';
import { WebhooksScreen } from './screens/Webhooks';

function Screen() {
  const { segments } = useRoute();
  const [first = 'overview', second] = segments;
  const admin = useIsAdmin();
  if (!admin && adminOnlyScreen(first)) return <NotAllowedScreen />;
  const kind = ACCOUNT_KINDS.find((k) => k.path === first);
  if (kind) return second ? <AccountDetailScreen key={`${kind.path}/${second}`} kind={kind} accountId={second} /> : <AccountListScreen key={kind.path} kind={kind} />;
  switch (first) {
    case 'overview':
      return <OverviewScreen />;
    case 'identity-records':
      return second ? <IdentityDetailScreen key={second} ir={second} /> : <IdentityListScreen />;
    case 'reidentify':
      return <ReidentifyDeskScreen />;
    case 'tokens':
      return <TokensScreen />;
    case 'records':
      return second ? <RecordDetailScreen key={second} ak={second} /> : <RecordListScreen />;
    case 'discovered':
      return <DiscoveredScreen />;
    case 'webhooks':
      return <WebhooksScreen />;
    case 'outbox':
      return <OutboxScreen />;
    case 'audit':
      return <AuditScreen />;
    case 'settings':
      return <SettingsScreen />;
    default:
      return <NotFoundScreen />;
  }
}

export function App() {
  const { state } = useAuth();
  if (state.status === 'starting') return <StartingScreen />;
  if (state.status === 'signed-out') return <SignInScreen notice={state.notice} />;
  return (
    <Shell>
      <Screen />
    </Shell>
  );
}
